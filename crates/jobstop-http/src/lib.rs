#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod attempt;
mod auth;
mod base_url;
mod client;
mod config;
mod duration;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod headers;
mod pool;
mod proxy;
mod request;
mod response;
mod retry;
mod secret;
pub mod wire;

pub use crate::auth::{MIN_TOKEN_REUSE, StaticToken, Token, TokenAuth, TokenCache, TokenSource};
pub use crate::base_url::{BaseUrl, InsecureHttp, MAX_SEGMENT_LEN, PathBuilder, encode_segment};
pub use crate::client::{
    AuthStamp, Authenticator, ClientConfig, DEFAULT_MAX_CONNECTIONS_PER_HOST, HttpClient,
    USER_AGENT,
};
pub use crate::config::{
    BuilderState, CLIENT_KEYS, ClientSettings, Credential, MAX_CLIENT_DURATION, MAX_CONNECTIONS,
    MAX_PACE, MAX_RETRIES, Schema, Setting, SettingValue, Shown, VendorConfig,
};
pub use crate::duration::{DurationError, format_duration, parse_duration};
pub use crate::error::{
    ErrorParser, GenericErrorParser, VendorError, error_from_response, kind_for_status,
};
pub use crate::headers::{ResponseHeaders, Status};
pub use crate::proxy::Proxies;
pub use crate::request::{HttpRequest, Idempotency, RequestMeta};
pub use crate::response::{DEFAULT_BODY_LIMIT, HttpResponse};
pub use crate::retry::{RetryPolicy, parse_retry_after};
pub use crate::secret::SecretString;

pub use ::url::Url;

#[cfg(test)]
mod assertions {
    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        send_sync::<super::HttpClient>();
        send_sync::<super::HttpRequest>();
        send_sync::<super::HttpResponse>();
        send_sync::<super::SecretString>();
        send_sync::<super::BaseUrl>();
        send_sync::<super::TokenAuth<super::StaticToken>>();
    }
}
