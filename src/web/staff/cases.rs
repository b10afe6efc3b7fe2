//! The inspectors' triage desk: the case list, the case page and its actions.

use actix_web::{HttpRequest, HttpResponse};

use crate::error::{AppError, ErrorKind};
use crate::web::page;

pub async fn list_cases(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::new(ErrorKind::NotFound, page(&req)))
}
pub async fn show_case(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::new(ErrorKind::NotFound, page(&req)))
}
pub async fn change_status(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::new(ErrorKind::NotFound, page(&req)))
}
pub async fn assign_case(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::new(ErrorKind::NotFound, page(&req)))
}
pub async fn add_note(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::new(ErrorKind::NotFound, page(&req)))
}
pub async fn ask_reporter(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::new(ErrorKind::NotFound, page(&req)))
}
pub async fn record_event(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::new(ErrorKind::NotFound, page(&req)))
}
pub async fn recuse(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::new(ErrorKind::NotFound, page(&req)))
}
