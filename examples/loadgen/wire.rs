//! The load phase's HTTP/1.1 client: one hyper connection per worker (`client::conn::http1`, no
//! pool, no redirects or decompression), each request's parts built before the clock starts, the
//! answer's body read without JSON parsing. reqwest cost ~3× the CPU per request here, taken from
//! the gateway and the database on the machine they share.
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A signed `POST`, ready to send as often as needed.
#[derive(Clone)]
pub struct Prepared {
    path: String,
    signature: HeaderValue,
    body: Bytes,
}

/// `POST path` with `body`, signed.
pub fn request(path: &str, signature: &str, body: Bytes) -> Prepared {
    Prepared {
        path: path.to_owned(),
        signature: HeaderValue::from_str(signature).expect("a signature is a header value"),
        body,
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One keep-alive connection to the gateway, reopened after an error.
pub struct Conn {
    addr: String,
    host: HeaderValue,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    pub fn new(addr: &str) -> Self {
        Self {
            addr: addr.to_owned(),
            host: HeaderValue::from_str(addr).expect("--base host:port"),
            sender: None,
        }
    }

    /// Sends `req` and returns the answer's status code and body.
    pub async fn send(&mut self, req: &Prepared) -> Result<(u16, Bytes), Error> {
        let result = self.exchange(req).await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    async fn exchange(&mut self, req: &Prepared) -> Result<(u16, Bytes), Error> {
        let sender = match &mut self.sender {
            Some(sender) if !sender.is_closed() => sender,
            _ => {
                let stream = TcpStream::connect(&self.addr).await?;
                stream.set_nodelay(true)?;
                let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
                tokio::spawn(conn);
                self.sender.insert(sender)
            }
        };
        sender.ready().await?;
        let mut request =
            hyper::Request::post(req.path.as_str()).body(Full::new(req.body.clone()))?;
        let headers = request.headers_mut();
        headers.insert(HOST, self.host.clone());
        headers.insert("stripe-signature", req.signature.clone());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let answer = sender.send_request(request).await?;
        let status = answer.status().as_u16();
        let body = answer.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}
