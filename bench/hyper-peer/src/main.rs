// hyper-peer PORT: hyper 0.14 on a current-thread tokio runtime (one core),
// the same /plaintext and /json (serialized per request with serde_json).
use hyper::service::{make_service_fn, service_fn};
use hyper::{Body, Request, Response, Server, StatusCode};
use serde::Serialize;
use std::convert::Infallible;

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

async fn answer(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let (status, kind, body) = match req.uri().path() {
        "/plaintext" => (StatusCode::OK, "text/plain", Body::from("Hello, World!")),
        "/json" => {
            let bytes = serde_json::to_vec(&Message { message: "Hello, World!" }).unwrap_or_default();
            (StatusCode::OK, "application/json", Body::from(bytes))
        }
        _ => (StatusCode::NOT_FOUND, "text/plain", Body::empty()),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert("content-type", kind.parse().unwrap());
    response.headers_mut().insert("server", "hyper".parse().unwrap());
    Ok(response)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(8086);
    let addr = ([127, 0, 0, 1], port).into();
    let make = make_service_fn(|_| async { Ok::<_, Infallible>(service_fn(answer)) });
    println!("hyper-peer on {}", port);
    if let Err(e) = Server::bind(&addr).http1_pipeline_flush(true).serve(make).await {
        eprintln!("hyper-peer: {}", e);
    }
}
