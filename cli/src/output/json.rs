//! The JSON report: a [`Summary`] as the result [`Document`]. `-o json`
//! prints it without histograms; `--save` writes it with them.

use super::summary::Summary;
use crate::result::{
    Document, FORMAT, Histograms, Row, TargetHistograms, TargetResult, ThresholdResult, VERSION,
};

/// The document of `s`; with every histogram when `histograms`.
pub(crate) fn document(s: &Summary<'_>, histograms: bool) -> Document {
    let stats = s.stats;
    Document {
        format: FORMAT.into(),
        version: VERSION,
        wall_start_unix_s: s.wall_start_unix_s,
        elapsed_s: stats.elapsed.as_secs_f64(),
        run: s.run.clone(),
        requests: s.requests,
        latency_us: s.latency,
        service_time_us: s.service,
        ttfb_us: s.ttfb,
        connect_us: s.connect,
        tls_handshake_us: s.tls_handshake,
        send_lag_us: s.send_lag,
        status: s.statuses.clone(),
        errors: stats.errors,
        error_examples: stats.examples.clone(),
        bytes: s.bytes,
        connections: s.connections.clone(),
        timeline: s
            .timeline()
            .iter()
            .map(|r| Row::of(r, s.wall_start_unix_s, Some(s.run), histograms))
            .collect(),
        thresholds: s
            .verdicts
            .iter()
            .map(|v| ThresholdResult {
                rule: v.rule.text().to_string(),
                passed: v.passed,
                value: v.json_value(),
                limit: v.limit(),
                unit: v.unit().to_string(),
            })
            .collect(),
        warnings: s.warnings.iter().map(ToString::to_string).collect(),
        targets: s
            .targets
            .iter()
            .map(|t| TargetResult {
                target: t.info.clone(),
                requests: t.requests,
                latency_us: t.latency,
                service_time_us: t.service,
                ttfb_us: t.ttfb,
                status: t.statuses.clone(),
                errors: t.stats.errors,
                bytes: t.bytes,
                histograms: histograms.then(|| TargetHistograms::of(t.stats)),
                timeline: t
                    .stats
                    .timeline
                    .iter()
                    .map(|r| Row::of(r, s.wall_start_unix_s, None, histograms))
                    .collect(),
            })
            .collect(),
        histograms: histograms.then(|| Histograms::of(stats)),
    }
}
