//! What the users send (SPEC §10): the one request of `--url`, `-m`, `-H`
//! and `--body`, or the list of `--targets`, with the `--data` rows their
//! placeholders draw on and the `--expect-*` checks, built into core's
//! [`Requests`] before any socket opens.

use std::path::Path;
use std::sync::Arc;

use volley_core::{
    Data, Expect, Mix, Needle, Order, RequestError, RequestSpec, RequestTemplate, Requests,
    Target as CoreTarget,
};

use super::data;
use super::parse::{self, Target};
use super::status::StatusSet;
use super::targets::{self, TargetDef};
use crate::args::{DataOrderArg, OrderArg, RunArgs, TargetsFormatArg};
use crate::error::{UsageError, usage};

/// A target of the run as reports name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TargetMeta {
    /// The name results are shown under (unique in the run).
    pub(crate) name: String,
    pub(crate) method: String,
    /// Its URL, placeholders as written.
    pub(crate) url: String,
    pub(crate) weight: u32,
}

/// What the users send, and where.
#[derive(Clone, Debug)]
pub(crate) struct Built {
    /// Where requests go: the URL, or each origin the targets name, in
    /// order of first appearance (an origin is the scheme, host and port).
    pub(crate) origins: Vec<Target>,
    /// The method of the one request; `*` for a list of targets.
    pub(crate) method: String,
    pub(crate) requests: Requests,
    /// The targets of `--targets`, in order; empty for one request.
    pub(crate) targets: Vec<TargetMeta>,
}

/// Builds what the users send from `args`, with `headers` (the `-H`
/// headers, parsed) added to every request.
pub(crate) fn build(args: &RunArgs, headers: &[(String, String)]) -> Result<Built, UsageError> {
    let data = args
        .data
        .as_deref()
        .map(|path| read_data(path, args.data_order == DataOrderArg::Random))
        .transpose()?;
    let expect_status = args
        .expect_status
        .as_deref()
        .map(|s| StatusSet::parse("--expect-status", s))
        .transpose()?;
    let expect_body = match args.expect_body.as_deref() {
        Some("") => {
            return usage("--expect-body: the text is empty; give the text a body must contain");
        }
        Some(text) => Needle::new(text.as_bytes()),
        None => None,
    };
    let expect = |status: Option<&StatusSet>| Expect {
        status: status.map(|s| volley_core::StatusSet::from_ranges(&s.ranges())),
        body: expect_body.clone(),
    };
    let Some(path) = args.targets.as_deref() else {
        let url = single_url(args)?;
        let origin = url_with_placeholders(url, "--url")?;
        let body = match (&args.body, &args.body_file) {
            (Some(b), _) => b.clone().into_bytes(),
            (None, Some(path)) => std::fs::read(path)
                .map_err(|e| UsageError(format!("--body-file {path:?}: cannot read it: {e}")))?,
            (None, None) => Vec::new(),
        };
        let method = args.method.to_ascii_uppercase();
        let spec = spec(&origin, &method, headers, &[], body, args.no_keepalive);
        let template = RequestTemplate::with_data(&spec, data.as_deref()).map_err(|e| {
            let flag = match e {
                RequestError::InvalidMethod(_) => "--method",
                RequestError::InvalidTarget(_) => "--url",
                // A placeholder may stand in the URL, a header or the body.
                RequestError::Template(_) => "--url, --header or --body",
                _ => "--header",
            };
            UsageError(format!("{flag}: {e}"))
        })?;
        let target = CoreTarget {
            template,
            expect: expect(expect_status.as_ref()),
        };
        let requests = Requests::single(target, args.seed, data);
        return Ok(Built {
            origins: vec![origin],
            method,
            requests,
            targets: Vec::new(),
        });
    };

    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("--targets {path:?}: cannot read it: {e}")))?;
    let format = args.targets_format.map(|f| match f {
        TargetsFormatArg::Http => targets::TargetsFormat::Http,
        TargetsFormatArg::Jsonl => targets::TargetsFormat::Jsonl,
    });
    let defs = targets::parse_targets(Path::new(path), &text, format)?;
    let mut origins: Vec<Target> = Vec::new();
    let mut origin_of: Vec<u16> = Vec::with_capacity(defs.len());
    let mut built = Vec::with_capacity(defs.len());
    let mut metas: Vec<TargetMeta> = Vec::with_capacity(defs.len());
    for def in &defs {
        let at = |what: &dyn std::fmt::Display| {
            UsageError(format!("--targets {path}:{}: {what}", def.line))
        };
        let url = url_with_placeholders(&def.url, "url").map_err(|e| at(&e))?;
        let same = |o: &Target| (o.https, &o.host, o.port) == (url.https, &url.host, url.port);
        let index = match origins.iter().position(same) {
            Some(i) => i,
            None => {
                origins.push(url.clone());
                origins.len() - 1
            }
        };
        origin_of.push(u16::try_from(index).map_err(|_| at(&"more than 65,536 origins"))?);
        let method = def.method.to_ascii_uppercase();
        let spec = spec(
            &url,
            &method,
            headers,
            &def.headers,
            def.body.clone(),
            args.no_keepalive,
        );
        let template = RequestTemplate::with_data(&spec, data.as_deref()).map_err(|e| at(&e))?;
        let status = def.expect_status.as_ref().or(expect_status.as_ref());
        built.push(CoreTarget {
            template,
            expect: expect(status),
        });
        metas.push(TargetMeta {
            name: unique_name(&metas, def, &method, &url),
            method,
            url: def.url.clone(),
            weight: def.weight,
        });
    }
    if origins.is_empty() {
        return usage(format!("--targets {path}: no targets in it"));
    }
    let order = match args.targets_order {
        OrderArg::Smooth => Order::Smooth,
        OrderArg::Random => Order::Random { seed: args.seed },
    };
    let weights: Vec<u32> = metas.iter().map(|m| m.weight).collect();
    let mix =
        Mix::new(&weights, order).map_err(|e| UsageError(format!("--targets {path}: {e}")))?;
    Ok(Built {
        origins,
        method: "*".into(),
        requests: Requests::new(built, mix, args.seed, data).with_origins(origin_of),
        targets: metas,
    })
}

fn single_url(args: &RunArgs) -> Result<&str, UsageError> {
    match (&args.url, &args.url_positional) {
        (Some(_), Some(_)) => usage("give the URL once: either --url URL or a positional URL"),
        (Some(u), None) | (None, Some(u)) => Ok(u.as_str()),
        (None, None) => usage(
            "--url is required, e.g. --url http://127.0.0.1:8080/ (or --targets FILE for a list of requests)",
        ),
    }
}

/// Parses a URL whose path or query may hold `{{...}}` placeholders, which
/// the URL parser would percent-encode.
fn url_with_placeholders(url: &str, flag: &str) -> Result<Target, UsageError> {
    let mut target = parse::url(url).map_err(|e| match flag {
        "--url" => e,
        _ => UsageError(e.0.replacen("--url ", "", 1)),
    })?;
    if url.contains("{{") {
        target.path = target.path.replace("%7B%7B", "{{").replace("%7D%7D", "}}");
        target.url = target.url.replace("%7B%7B", "{{").replace("%7D%7D", "}}");
    }
    Ok(target)
}

/// The request to `url`: the run's `-H` headers, then the target's own
/// (which win over a `-H` of the same name), and the URL's user info as
/// Basic authentication unless a header says otherwise (curl's rule).
fn spec(
    url: &Target,
    method: &str,
    run_headers: &[(String, String)],
    own: &[(String, String)],
    body: Vec<u8>,
    close: bool,
) -> RequestSpec {
    let mut headers: Vec<(String, String)> = run_headers
        .iter()
        .filter(|(name, _)| !own.iter().any(|(o, _)| o.eq_ignore_ascii_case(name)))
        .cloned()
        .collect();
    headers.extend(own.iter().cloned());
    if let Some(c) = &url.credentials {
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        {
            headers.push(("Authorization".into(), c.basic()));
        }
    }
    RequestSpec {
        method: method.to_string(),
        target: url.path.clone(),
        host: url.authority.clone(),
        headers,
        body,
        close,
    }
}

/// The target's name, or `METHOD path`; a name already taken gets ` #2`,
/// ` #3`, ... so that every target's results can be told apart.
fn unique_name(taken: &[TargetMeta], def: &TargetDef, method: &str, url: &Target) -> String {
    let base = def
        .name
        .clone()
        .unwrap_or_else(|| format!("{method} {}", url.path));
    let mut name = base.clone();
    let mut n = 1;
    while taken.iter().any(|m| m.name == name) {
        n += 1;
        name = format!("{base} #{n}");
    }
    name
}

fn read_data(path: &str, random: bool) -> Result<Arc<Data>, UsageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("--data {path:?}: cannot read it: {e}")))?;
    let table = data::parse_csv(Path::new(path), &text)?;
    Ok(Arc::new(Data::new(table.columns, table.rows, random)))
}
