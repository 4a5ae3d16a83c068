//! Salesforce REST on the instance host.

use super::schema::{self, ObjectDef};
use super::sosl::{self, Returning, Scope};
use super::store::{self, FieldPath, Prepared, RecordError, WriteTarget, coerce, resolve_path};
use super::{SfCaller, soql};
use crate::http::{sf_error, sf_error_fields};
use crate::state::Shared;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;

const SEASONS: [&str; 3] = ["Spring", "Summer", "Winter"];

/// `GET /services/data/`: the versions, no auth.
pub async fn versions() -> Response {
    let list: Vec<Value> = (55..=64)
        .map(|n: u32| {
            let year = 22 + (n - 54) / 3;
            json!({"label": format!("{} '{}", SEASONS[(n % 3) as usize], year), "url": format!("/services/data/v{n}.0"), "version": format!("{n}.0")})
        })
        .collect();
    Json(list).into_response()
}

/// `GET /services/data/vNN.N/`: the resources.
pub async fn resources(Extension(c): Extension<SfCaller>) -> Response {
    let v = &c.version;
    Json(json!({
        "sobjects": format!("/services/data/{v}/sobjects"), "search": format!("/services/data/{v}/search"),
        "query": format!("/services/data/{v}/query"), "limits": format!("/services/data/{v}/limits"),
        "composite": format!("/services/data/{v}/composite"), "parameterizedSearch": format!("/services/data/{v}/parameterizedSearch"),
    }))
    .into_response()
}

/// `?q=`.
#[derive(Debug, Deserialize)]
pub struct Q {
    q: Option<String>,
}

/// `GET …/search/?q=<SOSL>`.
pub async fn search(State(state): State<Shared>, Extension(c): Extension<SfCaller>, Query(q): Query<Q>) -> Response {
    let Some(text) = q.q.filter(|s| !s.trim().is_empty()) else {
        return sf_error(
            StatusCode::BAD_REQUEST,
            "MALFORMED_SEARCH",
            "No search term found. The search term must be enclosed in braces.",
        );
    };
    let parsed = match sosl::parse(&text) {
        Ok(s) => s,
        Err(e) => return sf_error(StatusCode::BAD_REQUEST, e.code, &e.message),
    };
    let now = state.clock.now_ms();
    let sf = state.sf_read();
    Json(sosl::run(&sf.store, &parsed, now, &c.version)).into_response()
}

/// `GET …/query/?q=<SOQL>`.
pub async fn query(State(state): State<Shared>, Extension(c): Extension<SfCaller>, Query(q): Query<Q>) -> Response {
    let Some(text) = q.q.filter(|s| !s.trim().is_empty()) else {
        return sf_error(StatusCode::BAD_REQUEST, "MALFORMED_QUERY", "A query string is required: ?q=SELECT …");
    };
    let parsed = match soql::parse(&text) {
        Ok(p) => p,
        Err(e) => return sf_error(StatusCode::BAD_REQUEST, e.code, &e.message),
    };
    let sf = state.sf_read();
    Json(soql::run(&sf.store, &parsed, &c.version)).into_response()
}

fn scope_of(s: Option<&str>) -> Result<Scope, Response> {
    match s.map(str::to_ascii_uppercase).as_deref() {
        None | Some("ALL") | Some("SIDEBAR") => Ok(Scope::All),
        Some("NAME") => Ok(Scope::Name),
        Some("EMAIL") => Ok(Scope::Email),
        Some("PHONE") => Ok(Scope::Phone),
        Some(other) => {
            Err(sf_error(StatusCode::BAD_REQUEST, "INVALID_SEARCH_SCOPE", &format!("Invalid search scope: {other}")))
        }
    }
}

fn returning_spec(name: &str, fields: Option<&str>, limit: Option<usize>) -> Result<Returning, Response> {
    let object = schema::object(name).ok_or_else(|| {
        sf_error(StatusCode::BAD_REQUEST, "INVALID_TYPE", &format!("sObject type '{name}' is not supported."))
    })?;
    let fields = match fields {
        None => vec![FieldPath::Field("Id")],
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|f| resolve_path(object, f).map_err(|m| sf_error(StatusCode::BAD_REQUEST, "INVALID_FIELD", &m)))
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(Returning { object, fields, filter: None, limit })
}

/// Body of `POST …/parameterizedSearch`.
#[derive(Debug, Deserialize)]
pub struct ParameterizedBody {
    q: String,
    #[serde(rename = "in")]
    scope: Option<String>,
    fields: Option<Vec<String>>,
    sobjects: Option<Vec<ParameterizedObject>>,
    #[serde(rename = "overallLimit")]
    overall_limit: Option<usize>,
    #[serde(rename = "defaultLimit")]
    default_limit: Option<usize>,
}

/// One entry of `sobjects`.
#[derive(Debug, Deserialize)]
pub struct ParameterizedObject {
    name: String,
    fields: Option<Vec<String>>,
    limit: Option<usize>,
}

fn run_parameterized(state: &Shared, c: &SfCaller, b: ParameterizedBody) -> Result<Response, Response> {
    if b.q.trim().chars().count() < 2 {
        return Err(sf_error(
            StatusCode::BAD_REQUEST,
            "MALFORMED_SEARCH",
            "search term must be longer than one character",
        ));
    }
    let scope = scope_of(b.scope.as_deref())?;
    let default_fields = b.fields.map(|f| f.join(","));
    let objects = b.sobjects.unwrap_or_else(|| {
        ["Account", "Contact", "Lead"]
            .iter()
            .map(|n| ParameterizedObject { name: (*n).into(), fields: None, limit: None })
            .collect()
    });
    let mut returning = Vec::new();
    for o in objects {
        let fields = o.fields.map(|f| f.join(",")).or_else(|| default_fields.clone());
        returning.push(returning_spec(&o.name, fields.as_deref(), o.limit.or(b.default_limit))?);
    }
    let s = sosl::plain(&b.q, scope, returning, b.overall_limit);
    let now = state.clock.now_ms();
    let sf = state.sf_read();
    Ok(Json(sosl::run(&sf.store, &s, now, &c.version)).into_response())
}

/// `GET …/parameterizedSearch?q=…&in=PHONE&sobject=Contact&Contact.fields=Id,Name&Contact.limit=5`.
pub async fn parameterized_get(
    State(state): State<Shared>,
    Extension(c): Extension<SfCaller>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let Some(q) = get("q") else {
        return sf_error(StatusCode::BAD_REQUEST, "MISSING_ARGUMENT", "The q parameter is required.");
    };
    let sobjects: Vec<ParameterizedObject> = params
        .iter()
        .filter(|(k, _)| k == "sobject")
        .map(|(_, name)| ParameterizedObject {
            name: name.clone(),
            fields: get(&format!("{name}.fields")).map(|f| f.split(',').map(|s| s.trim().to_string()).collect()),
            limit: get(&format!("{name}.limit")).and_then(|l| l.parse().ok()),
        })
        .collect();
    let body = ParameterizedBody {
        q,
        scope: get("in"),
        fields: get("fields").map(|f| f.split(',').map(|s| s.trim().to_string()).collect()),
        sobjects: (!sobjects.is_empty()).then_some(sobjects),
        overall_limit: get("overallLimit").and_then(|l| l.parse().ok()),
        default_limit: get("defaultLimit").and_then(|l| l.parse().ok()),
    };
    run_parameterized(&state, &c, body).unwrap_or_else(|r| r)
}

/// `POST …/parameterizedSearch` with a JSON body.
pub async fn parameterized_post(
    State(state): State<Shared>,
    Extension(c): Extension<SfCaller>,
    body: axum::body::Bytes,
) -> Response {
    match serde_json::from_slice::<ParameterizedBody>(&body) {
        Ok(b) => run_parameterized(&state, &c, b).unwrap_or_else(|r| r),
        Err(e) => sf_error(StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR", &e.to_string()),
    }
}

/// `GET …/limits`.
pub async fn limits(State(state): State<Shared>) -> Response {
    let max = state.settings().salesforce_daily_api_max;
    let used = state.sf_read().api_used.load(Ordering::Relaxed);
    Json(json!({
        "DailyApiRequests": {"Max": max, "Remaining": max.saturating_sub(used)},
        "ConcurrentPerOrgLongTxn": {"Max": 25, "Remaining": 25},
        "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
        "DataStorageMB": {"Max": 1024, "Remaining": 1000},
    }))
    .into_response()
}

fn not_found() -> Response {
    sf_error(StatusCode::NOT_FOUND, "NOT_FOUND", "The requested resource does not exist")
}

fn object_or_404(name: &str) -> Result<&'static ObjectDef, Response> {
    schema::object(name).ok_or_else(not_found)
}

fn external_field(obj: &ObjectDef, field: &str) -> Result<&'static str, Response> {
    match obj.field(field) {
        Some(f) if f.external_id => Ok(f.name),
        _ => Err(sf_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            &format!("Provided external ID field does not exist or is not accessible: {field}"),
        )),
    }
}

fn request_error(e: store::RequestError) -> Response {
    sf_error(StatusCode::BAD_REQUEST, e.error_code, &e.message)
}

fn record_error_response(e: &RecordError) -> Response {
    let fields: Vec<&str> = e.fields.iter().map(String::as_str).collect();
    sf_error_fields(StatusCode::BAD_REQUEST, e.status_code, &e.message, &fields)
}

/// `GET …/sobjects/{object}/{id}`.
pub async fn retrieve(
    State(state): State<Shared>,
    Extension(c): Extension<SfCaller>,
    Path((_, object, id)): Path<(String, String, String)>,
) -> Result<Response, Response> {
    let obj = object_or_404(&object)?;
    let sf = state.sf_read();
    let (o, r) = sf.store.get(&id).filter(|(o, _)| o.name == obj.name).ok_or_else(not_found)?;
    let paths: Vec<FieldPath> = o.fields.iter().map(|f| FieldPath::Field(f.name)).collect();
    Ok(Json(sf.store.project(o, r, &paths, &c.version)).into_response())
}

fn body_object(body: &[u8]) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(sf_error(StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR", "The request body must be a JSON object.")),
        Err(e) => Err(sf_error(StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR", &format!("Unexpected character: {e}"))),
    }
}

/// `POST …/sobjects/{object}`: create.
pub async fn create(
    State(state): State<Shared>,
    Path((_, object)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, Response> {
    let obj = object_or_404(&object)?;
    let map = body_object(&body)?;
    let values = coerce(obj, &map).map_err(request_error)?;
    let settings = state.settings();
    let now = state.clock.now_ms();
    let mut sf = state.sf_write();
    let p = sf
        .store
        .prepare(obj, WriteTarget::Create, values, &settings.validation_rules)
        .map_err(|e| record_error_response(&e))?;
    let (id, _) = sf.store.apply(obj, p, now, settings.salesforce_index_delay_secs as i64 * 1000);
    Ok((StatusCode::CREATED, Json(json!({"id": id, "success": true, "errors": []}))).into_response())
}

/// `?updateOnly=true`.
#[derive(Debug, Deserialize)]
pub struct UpsertQuery {
    #[serde(rename = "updateOnly", default)]
    update_only: bool,
}

fn version_number(v: &str) -> f64 {
    v.trim_start_matches('v').parse().unwrap_or(62.0)
}

/// `PATCH …/sobjects/{object}/{externalIdField}/{value}`: upsert by external id.
pub async fn upsert(
    State(state): State<Shared>,
    Extension(c): Extension<SfCaller>,
    Path((_, object, field, value)): Path<(String, String, String, String)>,
    Query(uq): Query<UpsertQuery>,
    body: axum::body::Bytes,
) -> Result<Response, Response> {
    let obj = object_or_404(&object)?;
    let field = external_field(obj, &field)?;
    let map = body_object(&body)?;
    let mut values = coerce(obj, &map).map_err(request_error)?;
    let settings = state.settings();
    let now = state.clock.now_ms();
    let mut sf = state.sf_write();
    let matches = sf.store.find_by_external(obj, field, &value);
    let target = match matches.as_slice() {
        [] if uq.update_only => return Err(not_found()),
        [] => {
            values.insert(field.to_string(), json!(value));
            WriteTarget::Create
        }
        [one] => WriteTarget::Update(one.clone()),
        many => {
            let urls: Vec<String> =
                many.iter().map(|id| format!("/services/data/{}/sobjects/{}/{id}", c.version, obj.name)).collect();
            return Err((StatusCode::MULTIPLE_CHOICES, Json(urls)).into_response());
        }
    };
    let prepared: Prepared =
        sf.store.prepare(obj, target, values, &settings.validation_rules).map_err(|e| record_error_response(&e))?;
    let (id, created) = sf.store.apply(obj, prepared, now, settings.salesforce_index_delay_secs as i64 * 1000);
    Ok(if created {
        (StatusCode::CREATED, Json(json!({"id": id, "success": true, "errors": [], "created": true}))).into_response()
    } else if version_number(&c.version) < 46.0 {
        StatusCode::NO_CONTENT.into_response()
    } else {
        Json(json!({"id": id, "success": true, "errors": [], "created": false})).into_response()
    })
}

/// The most records in one sObject Collections request.
pub const MAX_COLLECTION: usize = 200;

/// `PATCH …/composite/sobjects/{object}/{externalIdField}`: upsert up to 200 records in one call.
pub async fn upsert_collection(
    State(state): State<Shared>,
    Path((_, object, field)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, Response> {
    let obj = object_or_404(&object)?;
    let field = external_field(obj, &field)?;
    let map = body_object(&body)?;
    let all_or_none = match map.get("allOrNone") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(sf_error(StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR", "allOrNone must be a boolean."));
        }
    };
    let Some(Value::Array(records)) = map.get("records") else {
        return Err(sf_error(StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR", "The request must carry a records array."));
    };
    if records.len() > MAX_COLLECTION {
        return Err(sf_error(
            StatusCode::BAD_REQUEST,
            "EXCEEDED_ID_LIMIT",
            &format!("record limit reached. cannot submit more than {MAX_COLLECTION} records into this call"),
        ));
    }
    // Deserialize every record first: a body error fails the whole request.
    let mut items: Vec<(Option<String>, Map<String, Value>)> = Vec::with_capacity(records.len());
    for r in records {
        let Value::Object(rm) = r else {
            return Err(sf_error(StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR", "Each record must be a JSON object."));
        };
        let ty = rm.get("attributes").and_then(|a| a.get("type")).and_then(Value::as_str);
        if !ty.is_some_and(|t| t.eq_ignore_ascii_case(obj.name)) {
            return Err(sf_error(StatusCode::BAD_REQUEST, "INVALID_TYPE", "Must send a concrete entity type."));
        }
        let values = coerce(obj, rm).map_err(request_error)?;
        let ext = values.get(field).and_then(Value::as_str).filter(|s| !s.trim().is_empty()).map(str::to_owned);
        items.push((ext, values));
    }
    let settings = state.settings();
    let now = state.clock.now_ms();
    let mut sf = state.sf_write();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (ext, _) in &items {
        if let Some(e) = ext {
            *seen.entry(e.as_str()).or_default() += 1;
        }
    }
    let dups: HashSet<String> = seen.into_iter().filter(|(_, n)| *n > 1).map(|(k, _)| k.to_string()).collect();
    let outcomes: Vec<Result<Prepared, RecordError>> = items
        .into_iter()
        .map(|(ext, values)| {
            let Some(ext) = ext else {
                return Err(RecordError {
                    status_code: "MISSING_ARGUMENT",
                    message: format!("{field} not specified"),
                    fields: vec![field.into()],
                });
            };
            if dups.contains(&ext) {
                return Err(RecordError {
                    status_code: "DUPLICATE_EXTERNAL_ID",
                    message: format!("Duplicate external id specified: {ext}"),
                    fields: vec![field.into()],
                });
            }
            let target = match sf.store.find_by_external(obj, field, &ext).as_slice() {
                [] => WriteTarget::Create,
                [one] => WriteTarget::Update(one.clone()),
                many => {
                    return Err(RecordError {
                        status_code: "DUPLICATE_EXTERNAL_ID",
                        message: format!("{field}: more than one record found for external id field: {many:?}"),
                        fields: vec![field.into()],
                    });
                }
            };
            sf.store.prepare(obj, target, values, &settings.validation_rules)
        })
        .collect();
    let any_failed = outcomes.iter().any(Result::is_err);
    let delay = settings.salesforce_index_delay_secs as i64 * 1000;
    let results: Vec<Value> = outcomes
        .into_iter()
        .map(|o| match o {
            Err(e) => json!({"success": false, "errors": [e.collection_json()]}),
            Ok(_) if all_or_none && any_failed => json!({"success": false, "errors": [{
                "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
                "fields": []}]}),
            Ok(p) => {
                let (id, created) = sf.store.apply(obj, p, now, delay);
                json!({"id": id, "success": true, "errors": [], "created": created})
            }
        })
        .collect();
    Ok(Json(results).into_response())
}
