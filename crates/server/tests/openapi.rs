//! The OpenAPI document describes exactly the routes the API serves, with their methods.

use std::collections::BTreeSet;

#[test]
fn every_route_is_in_the_openapi_document_and_nothing_else() {
    let doc: serde_json::Value = serde_json::from_str(video2doc_server::OPENAPI).unwrap();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_lowercase(), path.clone()))
        })
        .collect();
    let served: BTreeSet<(String, String)> = video2doc_server::ROUTES
        .iter()
        .chain([&video2doc_server::OPENAPI_ROUTE])
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        served.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "served but not documented"
    );
    assert_eq!(
        documented.difference(&served).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not served"
    );
}
