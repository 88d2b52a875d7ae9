//! The HTTP side of the one error contract: each class of failure, one status and code.

use axum::http::StatusCode;
use video2doc_core::error_class::ErrorClass;
use video2doc_server::status_of;

#[test]
fn each_class_has_its_status() {
    assert_eq!(
        status_of(ErrorClass::NotFound),
        (StatusCode::NOT_FOUND, "not_found")
    );
    assert_eq!(
        status_of(ErrorClass::BadRequest),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request")
    );
    assert_eq!(
        status_of(ErrorClass::Failed),
        (StatusCode::INTERNAL_SERVER_ERROR, "internal")
    );
}
