//! The Chorus simulator's HTTP surface: routes, the Rails filters (CSRF,
//! login, session expiry), parameters, and the response headers.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::{Value, json};

use super::Chorus;
use super::store::{Answer, Store, error_body};
use crate::lock;

type Resp = Response<Body>;

/// The request as the Rails filters see it.
struct Incoming {
    method: Method,
    headers: HeaderMap,
    query: Vec<(String, String)>,
    form: Vec<(String, String)>,
    json: Option<Value>,
    /// The body claimed to be JSON but is not.
    bad_json: bool,
}

impl Incoming {
    fn new(method: Method, headers: HeaderMap, raw_query: Option<String>, body: &[u8]) -> Self {
        let query = parse_pairs(raw_query.as_deref().unwrap_or_default().as_bytes());
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let content_type = content_type.unwrap_or_default().to_ascii_lowercase();
        let mime = content_type.split(';').next().unwrap_or_default().trim();
        let is_form = mime == "application/x-www-form-urlencoded";
        let form = parse_pairs(if is_form { body } else { &[] });
        let is_json = mime == "application/json" || mime.ends_with("+json");
        let json = (is_json && !body.iter().all(u8::is_ascii_whitespace))
            .then(|| serde_json::from_slice::<Value>(body));
        let bad_json = json.as_ref().is_some_and(Result::is_err);
        let json = json.and_then(Result::ok);
        Incoming {
            method,
            headers,
            query,
            form,
            json,
            bad_json,
        }
    }

    /// `params[name]` as a string: the query wins over the body (Rails
    /// merges query parameters over request parameters), and of repeated
    /// keys the last one wins (as Rack parses them). A JSON body's numbers
    /// and booleans count too (Rails keeps them typed; `will_paginate` and
    /// the filters read them the same), whatever the method: the `alpine`
    /// client sends its paging as a JSON body on a GET (`alpine/workfile.py`
    /// `get_list`: `session.get(url, data=json.dumps(payload))`).
    fn param(&self, name: &str) -> Option<String> {
        self.pair(|k| k == name)
            .or_else(|| match self.json.as_ref()?.get(name)? {
                Value::String(s) => Some(s.clone()),
                v @ (Value::Number(_) | Value::Bool(_)) => Some(v.to_string()),
                _ => None,
            })
    }

    /// The last query value (else form value) whose key passes `key`.
    fn pair(&self, key: impl Fn(&str) -> bool) -> Option<String> {
        let mut pairs = self.query.iter().rev().chain(self.form.iter().rev());
        pairs.find(|(k, _)| key(k)).map(|(_, v)| v.clone())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The login credentials: top-level `username`/`password` or wrapped in
    /// `session` (`session[username]` in forms, `{"session":{…}}` in JSON).
    fn credentials(&self) -> (Option<String>, Option<String>) {
        let pick = |name: &str| {
            let wrapped = format!("session[{name}]");
            self.pair(|k| k == wrapped || k == name).or_else(|| {
                let json = self.json.as_ref()?;
                let v = json.get("session").and_then(|s| s.get(name));
                v.or_else(|| json.get(name))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
        };
        (pick("username"), pick("password"))
    }
}

/// The Rails session of the request's session cookie (the first one sent).
pub(crate) fn rails_key(store: &Store, headers: &HeaderMap) -> Option<usize> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == store.cfg.cookie_name)
        .and_then(|(_, v)| store.cookies.get(v).copied())
}

pub(crate) fn parse_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A record id: decimal digits only (Chorus ids are integers).
pub(crate) fn parse_id(raw: &str) -> Option<u64> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

/// Which endpoint a request reached (`Sessions` by its method).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Sessions,
    List,
    Show,
    Run,
    Stop,
}

const RAILS_404: &str = "<!DOCTYPE html>\n<html>\n<head>\n  <title>The page you were looking for doesn't exist (404)</title>\n</head>\n<body>\n  <div class=\"dialog\">\n    <h1>The page you were looking for doesn't exist.</h1>\n    <p>You may have mistyped the address or the page may have moved.</p>\n  </div>\n</body>\n</html>\n";

impl Chorus {
    /// Runs the Rails filters and the endpoint, then adds the headers every
    /// Chorus answer carries (and a fresh session cookie).
    fn serve(&self, req: &Incoming, endpoint: Endpoint, id: Option<String>) -> Resp {
        let started = Instant::now();
        let mut store = lock(&self.store);
        let mut rails = rails_key(&store, &req.headers);
        let answer = self.answer(&mut store, req, &mut rails, endpoint, id);
        let name = store.cfg.cookie_name.clone();
        let cookie = rails.map(|k| format!("{name}={}; path=/; HttpOnly", store.issue_cookie(k)));
        drop(store);
        self.respond(req, answer, cookie, started)
    }

    fn answer(
        &self,
        store: &mut Store,
        req: &Incoming,
        rails: &mut Option<usize>,
        endpoint: Endpoint,
        id: Option<String>,
    ) -> Answer {
        if req.bad_json {
            // ActionDispatch::ParamsParser::ParseError.
            return Answer::Json(400, error_body(400, "Invalid JSON in the request body"));
        }
        let param_session = req.param("session_id");
        // protect_from_forgery; `verified_request?` is `super ||
        // params[:session_id]`.
        let safe = matches!(req.method, Method::GET | Method::HEAD | Method::OPTIONS);
        let login = endpoint == Endpoint::Sessions && req.method == Method::POST;
        if !safe && param_session.is_none() {
            let csrf = rails
                .and_then(|k| store.rails.get(k))
                .map(|r| r.csrf.as_str());
            let token = req.header("x-csrf-token").map(str::to_owned);
            let token = token.or_else(|| req.param("authenticity_token"));
            let verified = csrf.is_some() && csrf == token.as_deref();
            let exempt = login && !store.cfg.login_requires_csrf;
            if !verified && !exempt {
                return Answer::Head(403);
            }
        }
        // set_current_user: the parameter wins over the cookie.
        let cookie_session = || rails.and_then(|k| store.rails_chorus(k)).map(str::to_owned);
        let session = param_session.or_else(cookie_session);
        let now = Instant::now();
        let live = session
            .as_deref()
            .filter(|s| store.sessions.get(*s).is_some_and(|e| now < *e));
        if endpoint == Endpoint::Sessions {
            return match req.method {
                Method::POST => self.login(store, req, rails),
                Method::DELETE => {
                    if let Some(s) = &session {
                        store.sessions.remove(s);
                    }
                    let key = *rails.get_or_insert_with(|| store.new_rails(None));
                    let csrf = store.reset_rails(key, None);
                    Answer::Json(200, json!({"csrf_token": csrf}))
                }
                // The sessions controller skips `extend_expiration`.
                _ => match live {
                    Some(s) => Answer::Json(200, store.render_session(s)),
                    None => Answer::Head(401),
                },
            };
        }
        let Some(s) = live else {
            return Answer::Head(401);
        };
        let timeout = store.cfg.session_timeout;
        if let Some(expires) = store.sessions.get_mut(s) {
            *expires = now + timeout;
        }
        let raw = id.unwrap_or_default();
        let id = parse_id(&raw);
        let (status, body) = match endpoint {
            Endpoint::List => (200, store.list(id, |name| req.param(name))),
            Endpoint::Show => (200, store.show(id)),
            Endpoint::Run => (202, store.run(id)),
            _ => (202, store.stop(&raw, id)),
        };
        body.map_or_else(|fail| fail, |v| Answer::Json(status, v))
    }

    /// `POST /sessions`.
    fn login(&self, store: &mut Store, req: &Incoming, rails: &mut Option<usize>) -> Answer {
        store.login_attempts += 1;
        let (user, pass) = req.credentials();
        if user.as_deref() != Some(&self.username) || pass.as_deref() != Some(&self.password) {
            let invalid = json!({"errors": {"fields": {"username_or_password": {"INVALID": {}}}}});
            return Answer::Json(401, invalid);
        }
        let id = store.create_session();
        store.logins += 1;
        match rails.and_then(|k| store.rails.get_mut(k)) {
            Some(r) => r.chorus = Some(id.clone()),
            None => *rails = Some(store.new_rails(Some(id.clone()))),
        }
        Answer::Json(201, store.render_session(&id))
    }

    fn respond(&self, req: &Incoming, answer: Answer, cookie: Option<String>, t0: Instant) -> Resp {
        const JSON: &str = "application/json; charset=utf-8";
        const HTML: &str = "text/html; charset=utf-8";
        let (status, content_type, body) = match answer {
            Answer::Json(s, v) => (s, JSON, serde_json::to_vec(&v).unwrap_or_default()),
            Answer::Head(s) => {
                let json = req
                    .header(ACCEPT.as_str())
                    .is_some_and(|a| a.contains("application/json"));
                (s, if json { JSON } else { HTML }, Vec::new())
            }
            Answer::Html(s, page) => (s, HTML, page.as_bytes().to_vec()),
        };
        let cache = ["no-cache", "max-age=0, private, must-revalidate"][usize::from(status == 200)];
        let headers = [
            ("x-frame-options", "SAMEORIGIN".to_owned()),
            ("x-xss-protection", "1; mode=block".to_owned()),
            ("x-content-type-options", "nosniff".to_owned()),
            (CONTENT_TYPE.as_str(), content_type.to_owned()),
            (CACHE_CONTROL.as_str(), cache.to_owned()),
            ("x-request-id", lock(&self.request_ids).uuid_like()),
            ("x-runtime", format!("{:.6}", t0.elapsed().as_secs_f64())),
            (CONTENT_LENGTH.as_str(), body.len().to_string()),
        ];
        let mut resp = Response::new(Body::from(body));
        *resp.status_mut() =
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let cookie = cookie.map(|c| (SET_COOKIE.as_str(), c));
        for (name, value) in headers.into_iter().chain(cookie) {
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().insert(name, v);
            }
        }
        resp
    }
}

/// The simulator's router: every route under `/api` and, as Chorus mounts
/// its API engine twice, at the root too.
pub(crate) fn router(sim: Arc<Chorus>) -> Router {
    let routes = [
        // `POST /sessions`: hey-jude/chorus
        // `components/api/app/controllers/api/sessions_controller.rb#create`
        // (201, `Api::SessionPresenter`: `session_id`, `user`), the session
        // id from `components/core/app/models/session.rb`
        // (`SecureRandom.hex(20)`); CSRF from
        // `api_controller.rb#verified_request?`. The `alpine` client logs
        // in here with a form and `?session_id=NULL`
        // (`alpine/apiclient.py#login`).
        // `GET /sessions`: `sessions_controller.rb#show` (the current
        // session, or `head :unauthorized`).
        // `DELETE /sessions`: `sessions_controller.rb#destroy`
        // (`{"csrf_token": …}`); the `alpine` client's `logout`.
        (
            "/sessions",
            get(handle).post(handle).delete(handle),
            Endpoint::Sessions,
        ),
        // `GET /workspaces/:workspace_id/workfiles`: hey-jude/chorus
        // `components/api/app/controllers/api/workfiles_controller.rb#index`
        // (`present paginate(workfiles)` with `list_view` and
        // `workfile_as_latest_version`: no `execution_locations`/
        // `dataset_ids`, `version_info` kept), the filters of
        // `components/core/app/models/workspace.rb#filtered_workfiles`, the
        // `pagination` block of
        // `components/api/app/controllers/api_controller.rb#present`.
        // Writes no event. The `alpine` client pages it with a JSON body
        // on the GET (`alpine/workfile.py#get_list`).
        (
            "/workspaces/{workspace_id}/workfiles",
            get(handle),
            Endpoint::List,
        ),
        // `GET /workfiles/:id`: `workfiles_controller.rb#show`
        // (`workfile_as_latest_version`, not `list_view`: everything, and
        // `log_workfile_opened_event`, one `OpenWorkfileEvent` per
        // successful call); the presenters
        // `components/api/app/presenters/api/workfile_presenter.rb` and
        // `alpine_workfile_presenter.rb`. The `alpine` client's
        // `workfile.get` (`alpine/workfile.py#get`).
        ("/workfiles/{id}", get(handle), Endpoint::Show),
        // `POST /workfiles/:id/run`: `workfiles_controller.rb#run` (202,
        // plain `present workfile`: no `version_info`; 422 `RUN_FAILED`)
        // and `components/core/app/models/alpine_workfile.rb#run_now`.
        ("/workfiles/{id}/run", post(handle), Endpoint::Run),
        // `POST /workfiles/:id/stop`: `workfiles_controller.rb#stop` (202,
        // plain `present workfile`: no `version_info`) and
        // `alpine_workfile.rb#stop_now` (idle only on the engine's 200; a
        // 500 page when the engine is unreachable); the TIBCO page
        // `chorus-stop-workfile.txt` (202, the same key set).
        ("/workfiles/{id}/stop", post(handle), Endpoint::Stop),
    ];
    let mut r = Router::new();
    for prefix in ["/api", ""] {
        for (path, methods, endpoint) in routes.clone() {
            r = r.route(
                &format!("{prefix}{path}"),
                methods.layer(Extension(endpoint)),
            );
        }
    }
    r.fallback(no_route)
        .method_not_allowed_fallback(no_route)
        .with_state(sim)
}

/// Every route's handler: the endpoint comes from the route, the id from
/// the path (a workspace id for listings).
async fn handle(
    State(sim): State<Arc<Chorus>>,
    Extension(endpoint): Extension<Endpoint>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Resp {
    // `GET /sessions` (and its HEAD) reads no body.
    let read = endpoint != Endpoint::Sessions || !matches!(method, Method::GET | Method::HEAD);
    let req = Incoming::new(method, headers, q, if read { &body } else { &[] });
    sim.serve(&req, endpoint, id.ok().map(|Path(id)| id))
}

/// Rails answers an unknown route (or method) with its 404 page.
async fn no_route(State(sim): State<Arc<Chorus>>, method: Method, headers: HeaderMap) -> Resp {
    let req = Incoming::new(method, headers, None, &[]);
    sim.respond(&req, Answer::Html(404, RAILS_404), None, Instant::now())
}
