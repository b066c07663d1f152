//! Helpers of the HTTP API tests: a real client over loopback, and the JSON of answers.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;

use serde_json::Value;

/// One answer: status, the headers we look at, and the body (JSON when it parses).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The message of a nova fault `{"<name>": {"code": N, "message": "..."}}`, checking
    /// that the name and code are the ones expected.
    pub fn fault(&self, name: &str) -> String {
        let body = self.json();
        let fault = body
            .get(name)
            .unwrap_or_else(|| panic!("expected a `{name}` fault, got {body}"));
        assert_eq!(fault["code"], Value::from(self.status), "{body}");
        fault["message"].as_str().expect("message").to_owned()
    }
}

/// A client for the API at `addr`.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    client: reqwest::Client,
}

impl Api {
    pub fn new(addr: SocketAddr) -> Api {
        Api {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let response = request
            .send()
            .await
            .expect("the request reaches the server");
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.expect("a body"),
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, &[], None).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.call("GET", path, headers, None).await
    }

    pub async fn put(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        self.call("PUT", path, headers, Some(body)).await
    }

    pub async fn delete(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.call("DELETE", path, headers, None).await
    }
}

/// The samples of `name` in an OpenMetrics text whose labels include all of `labels`.
pub fn samples(text: &str, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = match series.split_once('{') {
                Some((m, rest)) => (m, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            if metric != name {
                return None;
            }
            let pairs: Vec<(String, String)> = rest
                .split(',')
                .filter(|p| !p.is_empty())
                .filter_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    Some((k.to_owned(), v.trim_matches('"').to_owned()))
                })
                .collect();
            let all = labels
                .iter()
                .all(|(k, v)| pairs.iter().any(|(pk, pv)| pk == k && pv == v));
            all.then(|| value.parse().expect("a number"))
        })
        .collect()
}

/// nova's `updated_at` format: `YYYY-MM-DDTHH:MM:SS.ffffff`, no zone.
pub fn is_nova_time(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 26
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            _ => c.is_ascii_digit(),
        })
}
