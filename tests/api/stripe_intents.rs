//! A local Stripe for PaymentIntents that hold authorizations: it keeps each intent's state and
//! answers `capture`, `increment_authorization` and `cancel` the way Stripe does — only from
//! `requires_capture`, amounts checked against what is capturable (or an offered overcapture's
//! maximum) and the current total, metadata merged, Stripe's error shapes
//! (`payment_intent_unexpected_state`, `amount_too_large`, `idempotency_error`), and an
//! idempotency key replaying its first answer (a key reused with other parameters refused).
use crate::stripe::{merge, payment_intent};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[derive(Clone, Debug)]
struct Intent {
    amount: i64,
    capturable: i64,
    received: i64,
    status: &'static str,
    overcapture_max: Option<i64>,
    incremental: bool,
    metadata: serde_json::Map<String, Value>,
}

/// The sorted parameters a key was first used with, and the answer then.
type FirstUse = (Vec<(String, String)>, u16, Value);

#[derive(Clone, Default)]
pub struct Intents {
    intents: Arc<Mutex<HashMap<String, Intent>>>,
    /// Idempotency key → (the parameters it was first used with, the answer).
    keys: Arc<Mutex<HashMap<String, FirstUse>>>,
}

impl Intents {
    /// Mounts the stand-in on `stripe`.
    pub async fn mount(stripe: &MockServer) -> Self {
        let intents = Self::default();
        Mock::given(method("POST"))
            .and(path_regex(
                r"^/v1/payment_intents/[^/]+/(capture|increment_authorization|cancel)$",
            ))
            .respond_with(intents.clone())
            .mount(stripe)
            .await;
        intents
    }

    /// An intent holding `amount` for `order`, as a manual-capture card confirmation leaves it;
    /// `overcapture_max` and `incremental` as the card offered.
    pub fn hold(
        &self,
        pi: &str,
        amount: i64,
        order: &str,
        overcapture_max: Option<i64>,
        incremental: bool,
    ) {
        let metadata = json!({"order_id": order}).as_object().cloned().unwrap();
        self.intents.lock().unwrap().insert(
            pi.to_owned(),
            Intent {
                amount,
                capturable: amount,
                received: 0,
                status: "requires_capture",
                overcapture_max,
                incremental,
                metadata,
            },
        );
    }

    /// Captures `pi` in full behind the gateway's back (someone used the Dashboard).
    pub fn captured_elsewhere(&self, pi: &str) {
        let mut all = self.intents.lock().unwrap();
        let i = all.get_mut(pi).unwrap();
        (i.received, i.capturable, i.status) = (i.amount, 0, "succeeded");
    }

    /// The intent as Stripe shows it (and sends it in its events).
    pub fn object(&self, pi: &str) -> Value {
        let i = self.intents.lock().unwrap()[pi].clone();
        view(pi, &i)
    }
}

fn view(pi: &str, i: &Intent) -> Value {
    let order = i.metadata.get("order_id").and_then(Value::as_str);
    let mut v = merge(
        payment_intent(pi, i.amount, "usd", i.status, order),
        json!({"amount_capturable": i.capturable, "amount_received": i.received,
               "capture_method": "manual", "created": crate::stripe::now()}),
    );
    v["metadata"] = Value::Object(i.metadata.clone());
    v
}

fn error(status: u16, kind: &str, code: Option<&str>, message: String) -> (u16, Value) {
    let mut e = json!({"type": kind, "message": message});
    if let Some(code) = code {
        e["code"] = json!(code);
    }
    (status, json!({"error": e}))
}

fn unexpected(verb: &str, status: &str) -> (u16, Value) {
    error(
        400,
        "invalid_request_error",
        Some("payment_intent_unexpected_state"),
        format!(
            "This PaymentIntent could not be {verb} because it has a status of {status}. Only a PaymentIntent with one of the following statuses may be {verb}: requires_capture."
        ),
    )
}

impl Intents {
    fn act(&self, pi: &str, action: &str, form: &HashMap<String, String>) -> (u16, Value) {
        let mut all = self.intents.lock().unwrap();
        let Some(i) = all.get_mut(pi) else {
            return error(
                404,
                "invalid_request_error",
                Some("resource_missing"),
                format!("No such payment_intent: '{pi}'"),
            );
        };
        let amount = |name: &str| form.get(name).and_then(|a| a.parse::<i64>().ok());
        match action {
            "capture" => {
                if i.status != "requires_capture" {
                    return unexpected("captured", i.status);
                }
                let to_capture = amount("amount_to_capture").unwrap_or(i.capturable);
                let most = i.capturable.max(i.overcapture_max.unwrap_or(0));
                if to_capture > most {
                    return error(
                        400,
                        "invalid_request_error",
                        Some("amount_too_large"),
                        format!(
                            "The amount to capture ({to_capture}) must be less than or equal to the amount capturable ({most})."
                        ),
                    );
                }
                for (k, v) in form {
                    if let Some(key) = k
                        .strip_prefix("metadata[")
                        .and_then(|k| k.strip_suffix(']'))
                    {
                        i.metadata.insert(key.to_owned(), json!(v));
                    }
                }
                (i.received, i.capturable, i.status) = (to_capture, 0, "succeeded");
                i.amount = i.amount.max(to_capture);
            }
            "increment_authorization" => {
                if i.status != "requires_capture" {
                    return unexpected("incremented", i.status);
                }
                if !i.incremental {
                    return error(
                        400,
                        "invalid_request_error",
                        Some("incremental_authorization_not_available"),
                        "This PaymentIntent is not eligible for incremental authorization.".into(),
                    );
                }
                let new = amount("amount").unwrap_or(0);
                if new <= i.amount {
                    return error(
                        400,
                        "invalid_request_error",
                        Some("amount_too_small"),
                        format!(
                            "The new amount must be greater than the current amount ({}).",
                            i.amount
                        ),
                    );
                }
                (i.amount, i.capturable) = (new, new);
            }
            _ => {
                if matches!(i.status, "succeeded" | "canceled") {
                    return error(
                        400,
                        "invalid_request_error",
                        Some("payment_intent_unexpected_state"),
                        format!(
                            "You cannot cancel this PaymentIntent because it has a status of {}.",
                            i.status
                        ),
                    );
                }
                (i.capturable, i.status) = (0, "canceled");
            }
        }
        (200, view(pi, i))
    }
}

impl Respond for Intents {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let parts: Vec<&str> = req.url.path().split('/').collect();
        let (pi, action) = (parts[3], parts[4]);
        let form: HashMap<String, String> =
            form_urlencoded::parse(&req.body).into_owned().collect();
        let mut params: Vec<(String, String)> = form.clone().into_iter().collect();
        params.sort();
        let key = req
            .headers
            .get("idempotency-key")
            .map(|k| format!("{}:{}", req.url.path(), k.to_str().unwrap()));
        if let Some(key) = &key
            && let Some((body, status, answer)) = self.keys.lock().unwrap().get(key)
        {
            let (status, answer) = if *body == params {
                (*status, answer.clone())
            } else {
                error(
                    400,
                    "idempotency_error",
                    None,
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.".into(),
                )
            };
            return ResponseTemplate::new(status).set_body_json(answer);
        }
        let (status, answer) = self.act(pi, action, &form);
        if let Some(key) = key {
            self.keys
                .lock()
                .unwrap()
                .insert(key, (params, status, answer.clone()));
        }
        ResponseTemplate::new(status).set_body_json(answer)
    }
}
