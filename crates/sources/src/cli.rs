//! Command-line entry points as library code, for the binary to wire.
