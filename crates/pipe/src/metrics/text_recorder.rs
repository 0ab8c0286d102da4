use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use metrics::{
    Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SetRecorderError, SharedString,
    Unit,
};

/// A small `metrics` recorder that keeps counters and gauges in memory and
/// renders them as Prometheus text (exposition format 0.0.4, which
/// OpenMetrics scrapers read too).
///
/// It is what `weir serve --metrics` answers scrapes with, and a way to
/// read the figures back in tests. A program that already uses
/// `metrics-exporter-prometheus` (or any other recorder) does not need it:
/// weir only speaks to the facade. Histograms are not kept (weir records
/// none): their handles do nothing.
///
/// Clones share the same figures, so one clone can be installed as the
/// global recorder ([`install`](TextRecorder::install)) while another
/// renders.
///
/// # Examples
/// ```
/// use weir::pipe::metrics::TextRecorder;
///
/// let recorder = TextRecorder::new();
/// metrics::with_local_recorder(&recorder, || {
///     metrics::counter!("requests_total", "status" => "200").increment(3);
///     metrics::gauge!("open").set(2.0);
/// });
/// assert_eq!(recorder.counter("requests_total", &[("status", "200")]), Some(3));
/// let text = recorder.render();
/// assert!(text.contains("# TYPE requests_total counter\nrequests_total{status=\"200\"} 3\n"));
/// assert!(text.contains("open 2\n"));
/// ```
#[derive(Clone, Default)]
pub struct TextRecorder {
    inner: Arc<Mutex<Families>>,
}

#[derive(Default)]
struct Families {
    counters: BTreeMap<String, Family>,
    gauges: BTreeMap<String, Family>,
    help: BTreeMap<String, String>,
}

/// The series of one metric name: labels → value (a count, or a gauge's
/// `f64` bits).
#[derive(Default)]
struct Family {
    series: BTreeMap<Vec<(String, String)>, Arc<AtomicU64>>,
}

fn labels_of(key: &Key) -> Vec<(String, String)> {
    key.labels()
        .map(|l| (l.key().to_string(), l.value().to_string()))
        .collect()
}

fn owned(labels: &[(&str, &str)]) -> Vec<(String, String)> {
    labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl TextRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        TextRecorder::default()
    }

    fn lock(&self) -> MutexGuard<'_, Families> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes a clone of this recorder the process's global recorder.
    ///
    /// # Errors
    /// If a global recorder was installed already (the `metrics` facade
    /// takes one per process).
    pub fn install(&self) -> Result<(), SetRecorderError<TextRecorder>> {
        metrics::set_global_recorder(self.clone())
    }

    /// The value of the counter `name` with exactly these `labels` (in
    /// the order they were recorded), if it was registered.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
        let f = self.lock();
        let v = f.counters.get(name)?.series.get(&owned(labels))?;
        Some(v.load(Relaxed))
    }

    /// The value of the gauge `name` with exactly these `labels`, if it
    /// was registered.
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let f = self.lock();
        let v = f.gauges.get(name)?.series.get(&owned(labels))?;
        Some(f64::from_bits(v.load(Relaxed)))
    }

    /// Every counter and gauge as Prometheus text: per name a `# HELP`
    /// line (when described), a `# TYPE` line and one line per label set;
    /// counters first, each kind in alphabetical order of names.
    pub fn render(&self) -> String {
        let f = self.lock();
        let mut out = String::new();
        for (kind, families) in [("counter", &f.counters), ("gauge", &f.gauges)] {
            for (name, family) in families {
                if let Some(help) = f.help.get(name) {
                    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
                }
                let _ = writeln!(out, "# TYPE {name} {kind}");
                for (labels, value) in &family.series {
                    out.push_str(name);
                    if !labels.is_empty() {
                        out.push('{');
                        for (i, (k, v)) in labels.iter().enumerate() {
                            if i > 0 {
                                out.push(',');
                            }
                            let _ = write!(out, "{k}=\"{}\"", escape_label(v));
                        }
                        out.push('}');
                    }
                    let raw = value.load(Relaxed);
                    if kind == "counter" {
                        let _ = writeln!(out, " {raw}");
                    } else {
                        let _ = writeln!(out, " {}", f64::from_bits(raw));
                    }
                }
            }
        }
        out
    }

    fn register(&self, gauge: bool, key: &Key) -> Arc<AtomicU64> {
        let mut f = self.lock();
        let families = if gauge {
            &mut f.gauges
        } else {
            &mut f.counters
        };
        families
            .entry(key.name().to_string())
            .or_default()
            .series
            .entry(labels_of(key))
            // 0, and 0.0 for a gauge: its bits are all zero too.
            .or_insert_with(|| Arc::new(AtomicU64::new(0)))
            .clone()
    }

    fn describe(&self, key: KeyName, description: SharedString) {
        self.lock()
            .help
            .insert(key.as_str().to_string(), description.to_string());
    }
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Recorder for TextRecorder {
    fn describe_counter(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.describe(key, description);
    }

    fn describe_gauge(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.describe(key, description);
    }

    fn describe_histogram(&self, _key: KeyName, _unit: Option<Unit>, _description: SharedString) {}

    fn register_counter(&self, key: &Key, _metadata: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.register(false, key))
    }

    fn register_gauge(&self, key: &Key, _metadata: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.register(true, key))
    }

    fn register_histogram(&self, _key: &Key, _metadata: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

impl fmt::Debug for TextRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fam = self.lock();
        f.debug_struct("TextRecorder")
            .field("counters", &fam.counters.len())
            .field("gauges", &fam.gauges.len())
            .finish()
    }
}
