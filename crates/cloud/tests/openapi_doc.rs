//! `docs/openapi.json` is the cloud's OpenAPI document as the code builds it: the dashboard's
//! REST types are generated from that file (`dashboard/src/api/openapi.ts`, checked by
//! `scripts/test-dashboard`), so a change to the API that is not regenerated fails here.
//! Regenerate with `PITBOX_UPDATE_OPENAPI=1 cargo test -p pitbox-cloud --test openapi_doc`.

#[test]
fn checked_in_openapi_document_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let text = serde_json::to_string_pretty(&pitbox_cloud::openapi::document()).expect("json") + "\n";
    if std::env::var_os("PITBOX_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &text).expect("write docs/openapi.json");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == text,
        "docs/openapi.json drifted from the code; regenerate with: \
         PITBOX_UPDATE_OPENAPI=1 cargo test -p pitbox-cloud --test openapi_doc, then \
         (cd dashboard && npm run gen:api)"
    );
}
