//! Microbenchmarks of the per-request work in core: parsing a response and
//! asking the pacer when the next request is due. Run with
//! `cargo bench -p volley-core`; prints ns per operation.
//!
//! A small hand-written harness (no criterion) keeps the test build light:
//! each case runs for about a second after a warm-up, in batches, and the
//! best batch is reported, which is the least disturbed by a noisy machine.

#![allow(clippy::disallowed_methods)] // a benchmark measures wall time

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Counts allocations, to show the per-request path makes none.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

use std::sync::Arc;
use volley_core::body::{BodyDecoder, Framing};
use volley_core::response::parse_head;

use volley_core::{
    Config, ConnId, Data, Engine, Expect, Mix, Order, Output, Pacer, Rate, RequestSpec,
    RequestTemplate, Requests, Target,
};

const TYPICAL: &[u8] =
    b"HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Sun, 22 Nov 2026 20:00:00 GMT\r\n\
Content-Type: text/plain\r\nContent-Length: 6\r\nConnection: keep-alive\r\n\r\nhello\n";

const CHUNKED: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
10\r\n{\"items\":[1,2,3]\r\n2\r\n}\n\r\n0\r\n\r\n";

fn bench(name: &str, mut op: impl FnMut()) {
    const BATCH: u32 = 10_000;
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(200) {
        op();
    }
    let mut best = f64::MAX;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        let t = Instant::now();
        for _ in 0..BATCH {
            op();
        }
        best = best.min(t.elapsed().as_nanos() as f64 / f64::from(BATCH));
    }
    println!("{name:<44} {best:>9.1} ns/op");
}

fn main() {
    bench("parse_head: typical 150-byte response", || {
        black_box(parse_head(black_box(TYPICAL), false).unwrap());
    });

    let head_len = parse_head(CHUNKED, false).unwrap().unwrap().len;
    bench("parse_head + chunked body", || {
        let head = parse_head(black_box(CHUNKED), false).unwrap().unwrap();
        let mut body = BodyDecoder::new(head.framing);
        black_box(body.feed(&CHUNKED[head_len..]).unwrap());
    });

    let len_body = [b'x'; 4096];
    bench("content-length body, 4 KiB", || {
        let mut body = BodyDecoder::new(Framing::Length(4096));
        black_box(body.feed(black_box(&len_body)).unwrap());
    });

    let pacer = Pacer::new(10_000_000, Duration::ZERO, 2, 1);
    let mut k = 0u64;
    bench("pacer: intended(k)", || {
        k = k.wrapping_add(1);
        black_box(pacer.intended(black_box(k)));
    });

    let ramp = Pacer::new(10_000_000, Duration::from_secs(60), 1, 0);
    bench("pacer: intended(k) during a ramp-up", || {
        k = (k + 1) % 200_000;
        black_box(ramp.intended(black_box(k)));
    });

    for targets in [10, 1000] {
        let weights: Vec<u32> = (1..=targets).collect();
        let mix = Mix::new(&weights, Order::Smooth).unwrap();
        bench(&format!("mix: pick(k), {targets} targets"), || {
            k = k.wrapping_add(1);
            black_box(mix.pick(black_box(k)));
        });
    }

    // A whole request through the engine: due → Send → response → Done,
    // for one request, a list of targets, and a templated request.
    let spec = |target: &str, body: &str| RequestSpec {
        method: if body.is_empty() { "GET" } else { "POST" }.into(),
        target: target.into(),
        host: "bench".into(),
        body: body.as_bytes().to_vec(),
        ..RequestSpec::default()
    };
    let plain = |target: &str| Target {
        template: RequestTemplate::new(&spec(target, "")).unwrap(),
        expect: Expect::default(),
    };
    whole_requests("one request", plain("/").into());
    for n in [10u32, 1000] {
        let targets = (0..n).map(|i| plain(&format!("/t/{i}"))).collect();
        let mix = Mix::new(&vec![1; n as usize], Order::Smooth).unwrap();
        whole_requests(
            &format!("{n} targets"),
            Requests::new(targets, mix, 0, None),
        );
    }
    let rows = (0..1000).map(|i| vec![i.to_string()]).collect();
    let data = Arc::new(Data::new(vec!["id".into()], rows, false));
    let templated = Target {
        template: RequestTemplate::with_data(
            &spec("/item/{{seq}}", r#"{"id":{{row.id}}}"#),
            Some(&data),
        )
        .unwrap(),
        expect: Expect::default(),
    };
    whole_requests(
        "templated ({{seq}} path, {{row.id}} body)",
        Requests::single(templated, 0, Some(data)),
    );
    h2_streams();
    h2_engine();
}

/// One user sending request after request through the engine over one
/// HTTP/2 connection (`Config::http2`): due → stream opened → bytes taken
/// → response HEADERS and DATA fed back. Allocations and time per request,
/// as [`whole_requests`] measures HTTP/1.1.
fn h2_engine() {
    use volley_core::Http2;
    use volley_core::h2::frame::{write_data, write_headers, write_settings};

    let mut config = Config::new(1, Rate::Max);
    config.duration = Duration::from_secs(3600);
    config.http2 = Some(Http2::new(1, vec![false]));
    let epoch = Instant::now();
    let template = RequestTemplate::new(&RequestSpec {
        method: "GET".into(),
        target: "/".into(),
        host: "bench".into(),
        ..RequestSpec::default()
    })
    .unwrap();
    let mut engine = Engine::new(config, template, epoch);
    while let Some(Output::Connect(c)) = engine.poll_output(epoch) {
        engine.handle_connected(c, epoch);
    }
    let mut settings = Vec::new();
    write_settings(&[], &mut settings);
    engine.handle_data(ConnId(0), epoch, &settings);
    engine.handle_start(epoch);
    let mut response = Vec::new();
    write_headers(1, &[0x88], false, 16_384, &mut response);
    let data_at = response.len();
    write_data(1, b"hello\n", true, &mut response);
    let mut wire = Vec::new();
    let mut stream = 1u32;
    let mut one = |now: Instant, engine: &mut Engine| {
        while let Some(out) = engine.poll_output(now) {
            if let Output::Send(c) = out {
                engine.take_bytes(c, &mut wire);
                black_box(&wire);
                wire.clear();
            }
        }
        response[5..9].copy_from_slice(&stream.to_be_bytes());
        response[data_at + 5..data_at + 9].copy_from_slice(&stream.to_be_bytes());
        engine.handle_data(ConnId(0), now, &response);
        stream += 2;
    };
    let mut now = epoch;
    for _ in 0..3000 {
        now += Duration::from_micros(10);
        one(now, &mut engine);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let n = 50_000u32;
    for _ in 0..n {
        now += Duration::from_micros(100);
        one(now, &mut engine);
    }
    let allocs = ALLOCATIONS.load(Ordering::Relaxed) - before;
    println!(
        "{:<44} {:>9.4} per request ({allocs} in {n} requests over 5 s)",
        "engine, HTTP/2: allocations",
        f64::from(allocs as u32) / f64::from(n)
    );
    bench("engine, HTTP/2: one request", || {
        now += Duration::from_micros(10);
        one(now, &mut engine);
    });
    let s = engine.stats();
    assert_eq!((s.failed, s.retries), (0, 0));
    assert!(s.completed > u64::from(n));
}

/// HTTP/2 streams one after another on one connection: each opened, then
/// its response (HEADERS, then DATA with END_STREAM) fed back. The
/// allocations per stream (none, once warm) and the time per stream.
fn h2_streams() {
    use volley_core::h2::frame::{write_data, write_headers, write_settings};
    use volley_core::h2::{Event, H2Conn, hpack};

    let mut out = Vec::new();
    let mut conn = H2Conn::new(&mut out);
    let mut block = Vec::new();
    hpack::encode_request("GET", "https", "bench", "/", &[], &mut block);
    let mut settings = Vec::new();
    write_settings(&[], &mut settings);
    conn.feed(&settings, &mut out, |_| {});
    // The response of stream 1; each frame's stream field (bytes 5..9 of
    // its 9-byte header) is rewritten for the stream opened.
    let mut response = Vec::new();
    write_headers(1, &[0x88], false, 16_384, &mut response);
    let data_at = response.len();
    write_data(1, b"hello\n", true, &mut response);
    let mut done = 0u64;
    let mut one = || {
        out.clear();
        let id = conn.open(&block, b"", &mut out).unwrap().0.to_be_bytes();
        response[5..9].copy_from_slice(&id);
        response[data_at + 5..data_at + 9].copy_from_slice(&id);
        conn.feed(black_box(&response), &mut out, |e| {
            if let Event::Done { .. } = e {
                done += 1;
            }
        });
    };
    for _ in 0..3000 {
        one();
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let n = 50_000u32;
    for _ in 0..n {
        one();
    }
    let allocs = ALLOCATIONS.load(Ordering::Relaxed) - before;
    println!(
        "{:<44} {:>9.4} per stream ({allocs} in {n} streams)",
        "h2 connection: allocations",
        f64::from(allocs as u32) / f64::from(n)
    );
    bench("h2 connection: open + response", &mut one);
    assert!(done > u64::from(n));
}

/// One user sending request after request through the engine: the
/// allocations per request (none, once warm, but for the timeline's rows)
/// and the time per request.
fn whole_requests(name: &str, requests: Requests) {
    let mut config = Config::new(1, Rate::Max);
    config.duration = Duration::from_secs(3600);
    let epoch = Instant::now();
    let mut engine = Engine::new(config, requests, epoch);
    while let Some(Output::Connect(c)) = engine.poll_output(epoch) {
        engine.handle_connected(c, epoch);
    }
    engine.handle_start(epoch);
    let mut now = epoch;
    // Warm up (the first second's timeline row, the buffers), then count.
    let one = |now: Instant, engine: &mut Engine| {
        while let Some(out) = engine.poll_output(now) {
            black_box(out);
            black_box(engine.request_bytes(ConnId(0)));
        }
        engine.handle_data(ConnId(0), now, TYPICAL);
    };
    for _ in 0..3000 {
        now += Duration::from_micros(10);
        one(now, &mut engine);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    // 50,000 requests 100 µs apart: 5 s of virtual time, so the timeline
    // gains rows (its Vec grows by doubling: the only allocations).
    let n = 50_000u32;
    for _ in 0..n {
        now += Duration::from_micros(100);
        one(now, &mut engine);
    }
    let allocs = ALLOCATIONS.load(Ordering::Relaxed) - before;
    println!(
        "{:<44} {:>9.4} per request ({allocs} in {n} requests over 5 s)",
        format!("engine, {name}: allocations"),
        f64::from(allocs as u32) / f64::from(n)
    );
    bench(&format!("engine, {name}: one request"), || {
        now += Duration::from_micros(10);
        one(now, &mut engine);
    });
    assert!(engine.stats().completed > 0);
}
