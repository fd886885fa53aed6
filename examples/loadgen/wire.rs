//! The load phase's HTTP/1.1 client: one keep-alive connection per worker, each request's bytes
//! built before the clock starts, the answer read with no header map and no JSON parsing. A
//! general client (reqwest) cost ~3× the CPU per request here, taken from the gateway and the
//! database on the machine they share.
use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `POST path` with `body`, signed, as bytes ready to write.
pub fn request(host: &str, path: &str, signature: &str, body: &[u8]) -> Bytes {
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {host}\r\nstripe-signature: {signature}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let mut req = BytesMut::with_capacity(head.len() + body.len());
    req.extend_from_slice(head.as_bytes());
    req.extend_from_slice(body);
    req.freeze()
}

/// One connection to the gateway, reopened after an error or a `connection: close`.
pub struct Conn {
    addr: String,
    stream: Option<TcpStream>,
    buf: BytesMut,
}

impl Conn {
    pub fn new(addr: &str) -> Self {
        Self {
            addr: addr.to_owned(),
            stream: None,
            buf: BytesMut::with_capacity(16 * 1024),
        }
    }

    /// Sends `req` and returns the answer's status code and body.
    pub async fn send(&mut self, req: &[u8]) -> std::io::Result<(u16, Bytes)> {
        let result = self.exchange(req).await;
        if !matches!(result, Ok((_, _, true))) {
            self.stream = None;
            self.buf.clear();
        }
        result.map(|(status, body, _)| (status, body))
    }

    async fn exchange(&mut self, req: &[u8]) -> std::io::Result<(u16, Bytes, bool)> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(&self.addr).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
        }
        let stream = self
            .stream
            .as_mut()
            .ok_or_else(|| invalid("not connected"))?;
        stream.write_all(req).await?;
        let head_end = loop {
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                break at + 4;
            }
            read_more(stream, &mut self.buf).await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).map_err(invalid)?;
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| invalid("no status line"))?;
        let mut length = None;
        let mut keep_alive = true;
        for line in head.split("\r\n").skip(1) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("connection") {
                keep_alive = !value.eq_ignore_ascii_case("close");
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(invalid("chunked answers are not read by this tool"));
            }
        }
        let length = length.ok_or_else(|| invalid("no content-length"))?;
        while self.buf.len() < head_end + length {
            read_more(stream, &mut self.buf).await?;
        }
        self.buf.advance(head_end);
        let body = self.buf.split_to(length).freeze();
        Ok((status, body, keep_alive))
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut BytesMut) -> std::io::Result<()> {
    buf.reserve(8 * 1024);
    if stream.read_buf(buf).await? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn invalid(what: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}
