//! A tiny HTTP/1.1 file server on 127.0.0.1 for the `htslib` feature's remote tests:
//! serves the files of test-data/hts (GET and HEAD, single byte ranges as htslib's
//! libcurl backend asks for them, one request per connection) and records each
//! request's first line and headers. Loopback only; nothing else is contacted. Also
//! [`read_all`], the records of a reader, which every htslib test reads through.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use glance_seq::{HtsReader, Record};

/// Path of a file in test-data/hts.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../test-data/hts")
        .join(name)
}

/// A running server: its base URL (`http://127.0.0.1:PORT`) and the requests it saw.
pub struct Server {
    pub base: String,
    pub requests: Arc<Mutex<Vec<String>>>,
    listener: Option<TcpListener>,
}

impl Server {
    /// Binds a loopback port; call [`Server::start`] to serve.
    pub fn bind() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        assert!(address.ip().is_loopback());
        Server {
            base: format!("http://{address}"),
            requests: Arc::default(),
            listener: Some(listener),
        }
    }

    /// Starts serving on a background thread.
    pub fn start(mut self) -> Server {
        let listener = self.listener.take().unwrap();
        let log = Arc::clone(&self.requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    let _ = respond(stream, &log);
                });
            }
        });
        self
    }
}

fn respond(stream: TcpStream, log: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    let mut seen = request.clone();
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        seen.push_str(&line);
        let lower = line.to_ascii_lowercase();
        if let Some(spec) = lower.strip_prefix("range: bytes=") {
            let (a, b) = spec.trim().split_once('-').unwrap_or((spec.trim(), ""));
            range = Some((a.parse::<usize>().unwrap_or(0), b.parse::<usize>().ok()));
        }
    }
    log.lock().unwrap().push(seen);
    let mut parts = request.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("/");
    let path = target.split('?').next().unwrap_or("");
    // `/name`, or `/bucket/name` as an S3 path-style request asks.
    let name = path.rsplit('/').next().unwrap_or("");
    let mut out = stream;
    let body = (!name.is_empty() && !name.starts_with('.'))
        .then(|| std::fs::read(data(name)).ok())
        .flatten();
    let Some(body) = body else {
        return out.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    };
    let (status, from, to) = match range {
        Some((a, _)) if a >= body.len() => {
            let head = format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                body.len()
            );
            return out.write_all(head.as_bytes());
        }
        Some((a, b)) => (
            "206 Partial Content",
            a,
            b.map_or(body.len(), |b| (b + 1).min(body.len())),
        ),
        None => ("200 OK", 0, body.len()),
    };
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n",
        to - from
    );
    if status.starts_with("206") {
        head.push_str(&format!(
            "Content-Range: bytes {from}-{}/{}\r\n",
            to - 1,
            body.len()
        ));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    if method != "HEAD" {
        out.write_all(&body[from..to])?;
    }
    out.flush()
}

/// Every record `reader` has left, in order.
pub fn read_all(reader: &mut HtsReader) -> Vec<Record> {
    let mut out = Vec::new();
    let mut record = Record::default();
    while reader.read_record(&mut record).unwrap() {
        out.push(record.clone());
    }
    out
}
