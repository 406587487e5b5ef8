//! Variable headers (`irsdk_varHeader`, 144 bytes) and typed, allocation-free access to row
//! values: a [`VarHandle`] is looked up once by name (type-checked), then reads a row with one
//! little-endian load at a precomputed offset.

use crate::error::{IrsdkError, Result};
use serde::Serialize;
use std::marker::PhantomData;

/// Size of `irsdk_varHeader` in bytes.
pub const VAR_HEADER_LEN: usize = 144;
/// `IRSDK_MAX_STRING`: bytes of a name or unit.
pub const MAX_STRING: usize = 32;
/// `IRSDK_MAX_DESC`: bytes of a description.
pub const MAX_DESC: usize = 64;

/// `irsdk_VarType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VarType {
    Char = 0,
    Bool = 1,
    Int = 2,
    BitField = 3,
    Float = 4,
    Double = 5,
}

impl VarType {
    /// From the raw `type` field.
    pub fn from_i32(v: i32) -> Option<VarType> {
        Some(match v {
            0 => VarType::Char,
            1 => VarType::Bool,
            2 => VarType::Int,
            3 => VarType::BitField,
            4 => VarType::Float,
            5 => VarType::Double,
            _ => return None,
        })
    }

    /// Bytes of one element.
    pub const fn size(self) -> usize {
        match self {
            VarType::Char | VarType::Bool => 1,
            VarType::Int | VarType::BitField | VarType::Float => 4,
            VarType::Double => 8,
        }
    }

    /// The SDK's name of the type (`char`, `bool`, `int`, `bitfield`, `float`, `double`).
    pub const fn name(self) -> &'static str {
        match self {
            VarType::Char => "char",
            VarType::Bool => "bool",
            VarType::Int => "int",
            VarType::BitField => "bitfield",
            VarType::Float => "float",
            VarType::Double => "double",
        }
    }
}

/// Decodes a NUL-terminated latin-1 byte string (every byte maps to the same code point).
pub fn latin1(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    bytes[..end].iter().map(|&b| b as char).collect()
}

/// Encodes text as latin-1 into a fixed, NUL-padded field (characters above U+00FF become `?`;
/// the text is cut so that at least one NUL terminates it).
fn latin1_field<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (slot, c) in out.iter_mut().take(N - 1).zip(s.chars()) {
        *slot = u8::try_from(u32::from(c)).unwrap_or(b'?');
    }
    out
}

/// One variable header. The decoded fields are public; the raw name/desc/unit bytes (which may
/// hold bytes after the terminating NUL) are kept so that rewriting is byte-exact.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VarHeader {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: VarType,
    /// Byte offset of the first element inside a row.
    pub offset: usize,
    /// Number of elements (1 for scalars, 64 for CarIdx arrays, 6 for 360 Hz `_ST` channels).
    pub count: usize,
    /// True when the elements are consecutive samples in time (e.g. `SteeringWheelTorque_ST`).
    pub count_as_time: bool,
    pub desc: String,
    pub unit: String,
    #[serde(skip)]
    raw_count_as_time: u8,
    #[serde(skip)]
    raw_pad: [u8; 3],
    #[serde(skip)]
    raw_name: [u8; MAX_STRING],
    #[serde(skip)]
    raw_desc: [u8; MAX_DESC],
    #[serde(skip)]
    raw_unit: [u8; MAX_STRING],
}

impl VarHeader {
    /// A new header (for writers). Fields are NUL padded; text is cut to fit.
    pub fn new(
        name: &str,
        ty: VarType,
        offset: usize,
        count: usize,
        count_as_time: bool,
        desc: &str,
        unit: &str,
    ) -> VarHeader {
        let raw_name = latin1_field::<MAX_STRING>(name);
        let raw_desc = latin1_field::<MAX_DESC>(desc);
        let raw_unit = latin1_field::<MAX_STRING>(unit);
        VarHeader {
            name: latin1(&raw_name),
            ty,
            offset,
            count,
            count_as_time,
            desc: latin1(&raw_desc),
            unit: latin1(&raw_unit),
            raw_count_as_time: u8::from(count_as_time),
            raw_pad: [0; 3],
            raw_name,
            raw_desc,
            raw_unit,
        }
    }

    /// Parses and validates the header at `bytes` (exactly 144 bytes), variable number `index`,
    /// against a row length of `buf_len` bytes.
    pub fn parse(bytes: &[u8], index: usize, buf_len: usize) -> Result<VarHeader> {
        if bytes.len() < VAR_HEADER_LEN {
            return Err(IrsdkError::TooShort {
                what: "irsdk_varHeader",
                offset: 0,
                needed: VAR_HEADER_LEN,
                len: bytes.len(),
            });
        }
        let i = |o: usize| crate::header::i32_at(bytes, o);
        let mut raw_name = [0u8; MAX_STRING];
        raw_name.copy_from_slice(&bytes[16..48]);
        let mut raw_desc = [0u8; MAX_DESC];
        raw_desc.copy_from_slice(&bytes[48..112]);
        let mut raw_unit = [0u8; MAX_STRING];
        raw_unit.copy_from_slice(&bytes[112..144]);
        let name = latin1(&raw_name);
        let bad = |reason: String| IrsdkError::BadVar { index, name: name.clone(), reason };
        let raw_ty = i(0);
        let ty = VarType::from_i32(raw_ty).ok_or_else(|| bad(format!("type = {raw_ty}, expected 0..=5")))?;
        let raw_offset = i(4);
        let raw_count = i(8);
        if raw_offset < 0 {
            return Err(bad(format!("offset = {raw_offset} is negative")));
        }
        if raw_count < 1 {
            return Err(bad(format!("count = {raw_count}, expected at least 1")));
        }
        let (offset, count) = (raw_offset as usize, raw_count as usize);
        let end = offset as u64 + count as u64 * ty.size() as u64;
        if end > buf_len as u64 {
            return Err(bad(format!(
                "offset {offset} + {count} x {} bytes ends at {end}, past the row length bufLen = {buf_len}",
                ty.size()
            )));
        }
        if name.is_empty() {
            return Err(bad("empty name".into()));
        }
        Ok(VarHeader {
            name,
            ty,
            offset,
            count,
            count_as_time: bytes[12] != 0,
            desc: latin1(&raw_desc),
            unit: latin1(&raw_unit),
            raw_count_as_time: bytes[12],
            raw_pad: [bytes[13], bytes[14], bytes[15]],
            raw_name,
            raw_desc,
            raw_unit,
        })
    }

    /// The 144 bytes of this header.
    pub fn to_bytes(&self) -> [u8; VAR_HEADER_LEN] {
        let mut out = [0u8; VAR_HEADER_LEN];
        out[0..4].copy_from_slice(&(self.ty as i32).to_le_bytes());
        out[4..8].copy_from_slice(&(self.offset as i32).to_le_bytes());
        out[8..12].copy_from_slice(&(self.count as i32).to_le_bytes());
        out[12] = self.raw_count_as_time;
        out[13..16].copy_from_slice(&self.raw_pad);
        out[16..48].copy_from_slice(&self.raw_name);
        out[48..112].copy_from_slice(&self.raw_desc);
        out[112..144].copy_from_slice(&self.raw_unit);
        out
    }

    /// Bytes this variable occupies in a row.
    pub fn byte_len(&self) -> usize {
        self.count * self.ty.size()
    }

    /// Element `i` of this variable in `row`, dynamically typed.
    #[inline]
    pub fn value(&self, row: &[u8], i: usize) -> Option<Value> {
        if i >= self.count {
            return None;
        }
        let off = self.offset + i * self.ty.size();
        Some(match self.ty {
            VarType::Char => Value::Char(*row.get(off)?),
            VarType::Bool => Value::Bool(*row.get(off)? != 0),
            VarType::Int => Value::Int(i32::from_le_bytes(le(row, off)?)),
            VarType::BitField => Value::BitField(u32::from_le_bytes(le(row, off)?)),
            VarType::Float => Value::Float(f32::from_le_bytes(le(row, off)?)),
            VarType::Double => Value::Double(f64::from_le_bytes(le(row, off)?)),
        })
    }
}

/// A dynamically typed value, for generic tools (export, dumps).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Char(u8),
    Bool(bool),
    Int(i32),
    BitField(u32),
    Float(f32),
    Double(f64),
}

impl Value {
    /// As `f64` (bools are 0/1).
    pub fn as_f64(self) -> f64 {
        match self {
            Value::Char(v) => f64::from(v),
            Value::Bool(v) => f64::from(u8::from(v)),
            Value::Int(v) => f64::from(v),
            Value::BitField(v) => f64::from(v),
            Value::Float(v) => f64::from(v),
            Value::Double(v) => v,
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Char(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{}", u8::from(*v)),
            Value::Int(v) => write!(f, "{v}"),
            Value::BitField(v) => write!(f, "{v}"),
            // Shortest representation that round-trips the f32.
            Value::Float(v) => write!(f, "{v}"),
            Value::Double(v) => write!(f, "{v}"),
        }
    }
}

/// `N` little-endian bytes at `off`, or `None` past the end.
#[inline(always)]
pub(crate) fn le<const N: usize>(row: &[u8], off: usize) -> Option<[u8; N]> {
    match row.get(off..off.wrapping_add(N)) {
        Some(s) => s.try_into().ok(),
        None => None,
    }
}

/// A Rust type that a variable can be read as. Implemented for the primitive types, the typed
/// flags ([`crate::flags`]) and enums.
pub trait VarValue: Sized + Copy {
    /// Bytes of one element.
    const SIZE: usize;
    /// What this type is, for error messages.
    const DESCRIPTION: &'static str;
    /// Whether a variable of SDK type `ty` may be read as `Self`.
    fn accepts(ty: VarType) -> bool;
    /// Reads one element at `off` (`None` if the row is too short).
    fn read(row: &[u8], off: usize) -> Option<Self>;
    /// The little-endian bytes of one element (`SIZE` of them are used).
    fn to_le(self) -> [u8; 8];
}

macro_rules! prim {
    ($t:ty, $n:expr, $desc:expr, $($ty:ident)|+) => {
        impl VarValue for $t {
            const SIZE: usize = $n;
            const DESCRIPTION: &'static str = $desc;
            fn accepts(ty: VarType) -> bool { matches!(ty, $(VarType::$ty)|+) }
            #[inline(always)]
            fn read(row: &[u8], off: usize) -> Option<Self> { le::<$n>(row, off).map(<$t>::from_le_bytes) }
            fn to_le(self) -> [u8; 8] {
                let mut o = [0u8; 8];
                o[..$n].copy_from_slice(&self.to_le_bytes());
                o
            }
        }
    };
}
prim!(f32, 4, "f32 (float)", Float);
prim!(f64, 8, "f64 (double)", Double);
prim!(i32, 4, "i32 (int or bitfield)", Int | BitField);
prim!(u32, 4, "u32 (bitfield or int)", BitField | Int);

impl VarValue for bool {
    const SIZE: usize = 1;
    const DESCRIPTION: &'static str = "bool";
    fn accepts(ty: VarType) -> bool {
        ty == VarType::Bool
    }
    #[inline(always)]
    fn read(row: &[u8], off: usize) -> Option<Self> {
        row.get(off).map(|&b| b != 0)
    }
    fn to_le(self) -> [u8; 8] {
        [u8::from(self), 0, 0, 0, 0, 0, 0, 0]
    }
}

impl VarValue for u8 {
    const SIZE: usize = 1;
    const DESCRIPTION: &'static str = "u8 (char or bool)";
    fn accepts(ty: VarType) -> bool {
        matches!(ty, VarType::Char | VarType::Bool)
    }
    #[inline(always)]
    fn read(row: &[u8], off: usize) -> Option<Self> {
        row.get(off).copied()
    }
    fn to_le(self) -> [u8; 8] {
        [self, 0, 0, 0, 0, 0, 0, 0]
    }
}

/// A variable looked up once by name, read per row without string lookups.
///
/// The handle holds the byte offset and element count validated against the row length of the
/// layout it came from. Reading a row of another, shorter layout cannot go out of bounds: the
/// `try_` methods then return `None` and the others the type's default.
#[derive(Debug)]
pub struct VarHandle<T> {
    pub(crate) index: usize,
    pub(crate) offset: usize,
    pub(crate) count: usize,
    pub(crate) _t: PhantomData<fn() -> T>,
}

impl<T> Clone for VarHandle<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for VarHandle<T> {}

impl<T: VarValue + Default> VarHandle<T> {
    /// Element 0 (the value of a scalar variable).
    #[inline(always)]
    pub fn get(&self, row: &[u8]) -> T {
        T::read(row, self.offset).unwrap_or_default()
    }

    /// Fills `out` with the elements (up to `min(count, out.len())`), returns how many.
    #[inline]
    pub fn read_into(&self, row: &[u8], out: &mut [T]) -> usize {
        let n = self.count.min(out.len());
        for (i, slot) in out.iter_mut().take(n).enumerate() {
            *slot = self.at(row, i).unwrap_or_default();
        }
        n
    }

    /// All elements as a vector.
    pub fn to_vec(&self, row: &[u8]) -> Vec<T> {
        self.iter(row).collect()
    }
}

impl<T: VarValue> VarHandle<T> {
    /// Element 0, or `None` if the row is too short for this handle.
    #[inline(always)]
    pub fn try_get(&self, row: &[u8]) -> Option<T> {
        T::read(row, self.offset)
    }

    /// Element `i` of an array variable.
    #[inline(always)]
    pub fn at(&self, row: &[u8], i: usize) -> Option<T> {
        if i >= self.count {
            return None;
        }
        T::read(row, self.offset + i * T::SIZE)
    }

    /// The elements of an array variable (stops early on a too-short row).
    pub fn iter<'r>(&self, row: &'r [u8]) -> impl Iterator<Item = T> + 'r {
        let h = *self;
        (0..h.count).map_while(move |i| T::read(row, h.offset + i * T::SIZE))
    }

    /// Writes element 0 into `row` (for writers); `false` if the row is too short.
    #[inline]
    pub fn set(&self, row: &mut [u8], value: T) -> bool {
        self.set_at(row, 0, value)
    }

    /// Writes element `i` into `row`; `false` if out of range.
    #[inline]
    pub fn set_at(&self, row: &mut [u8], i: usize, value: T) -> bool {
        if i >= self.count {
            return false;
        }
        let off = self.offset + i * T::SIZE;
        match row.get_mut(off..off + T::SIZE) {
            Some(dst) => {
                dst.copy_from_slice(&value.to_le()[..T::SIZE]);
                true
            }
            None => false,
        }
    }

    /// Number of elements.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Index of the variable in the header list.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Byte offset inside a row.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

/// Builds a typed handle for `var`, checking that the type fits.
pub(crate) fn handle_for<T: VarValue>(var: &VarHeader, index: usize) -> Result<VarHandle<T>> {
    if !T::accepts(var.ty) || T::SIZE != var.ty.size() {
        return Err(IrsdkError::TypeMismatch {
            name: var.name.clone(),
            found: format!("{}[{}]", var.ty.name(), var.count),
            requested: T::DESCRIPTION.to_string(),
        });
    }
    Ok(VarHandle { index, offset: var.offset, count: var.count, _t: PhantomData })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_bytes_roundtrip() {
        let v = VarHeader::new("Speed", VarType::Float, 12, 1, false, "GPS vehicle speed", "m/s");
        let b = v.to_bytes();
        let p = VarHeader::parse(&b, 0, 16).unwrap();
        assert_eq!(p, v);
        assert_eq!(p.to_bytes(), b);
    }

    #[test]
    fn var_past_row_is_rejected() {
        let v = VarHeader::new("CarIdxLap", VarType::Int, 0, 64, false, "", "");
        let e = VarHeader::parse(&v.to_bytes(), 3, 100).unwrap_err().to_string();
        assert!(e.contains("CarIdxLap") && e.contains("bufLen = 100") && e.contains("256"), "{e}");
    }

    #[test]
    fn handle_reads_unaligned() {
        let v = VarHeader::new("X", VarType::Float, 1, 2, false, "", "");
        let h = handle_for::<f32>(&v, 0).unwrap();
        let mut row = vec![0u8; 9];
        row[1..5].copy_from_slice(&1.5f32.to_le_bytes());
        row[5..9].copy_from_slice(&(-2.0f32).to_le_bytes());
        assert_eq!(h.get(&row), 1.5);
        assert_eq!(h.to_vec(&row), vec![1.5, -2.0]);
        assert_eq!(h.at(&row, 2), None);
        assert_eq!(h.try_get(&row[..3]), None);
        assert!(handle_for::<f64>(&v, 0).is_err());
        assert!(handle_for::<i32>(&v, 0).is_err());
    }
}
