//! A `#[cls(log)]` field whose `Display` itself logs, with the subscriber and the logger
//! installed globally, as applications do: the nested line is written without fields
//! instead of reading them again without end (a stack overflow).
//!
//! In a binary of its own: it installs the process-wide subscriber and `log` logger.

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex};

use cls_core::logging::{ClsFormat, ClsLogger};
use cls_core::{Cls, ClsStore};

/// Logs through both `tracing` and `log` whenever it is displayed.
#[derive(Clone, Default)]
struct Chatty;

impl fmt::Display for Chatty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        tracing::info!("from-display");
        log::info!("from-display-log");
        f.write_str("chatty")
    }
}

#[derive(ClsStore, Clone, Default)]
struct ChattyStore {
    #[cls(log)]
    tenant: String,
    #[cls(log)]
    chatty: Chatty,
}

const CLS: Cls<ChattyStore> = Cls::new();

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The `log` logger under `ClsLogger`: keeps each record with its key-values.
struct Recorder(Arc<Mutex<Vec<String>>>);

impl log::Log for Recorder {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        struct Keys(Vec<String>);
        impl<'kvs> log::kv::VisitSource<'kvs> for Keys {
            fn visit_pair(
                &mut self,
                key: log::kv::Key<'kvs>,
                _: log::kv::Value<'kvs>,
            ) -> Result<(), log::kv::Error> {
                self.0.push(key.to_string());
                Ok(())
            }
        }
        let mut keys = Keys(Vec::new());
        record.key_values().visit(&mut keys).unwrap();
        let keys = keys.0;
        let line = format!("{} [{}]", record.args(), keys.join(","));
        self.0.lock().unwrap().push(line);
    }

    fn flush(&self) {}
}

#[test]
fn a_field_whose_display_logs_gets_its_line_written_once_without_fields() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .event_format(
                ClsFormat::new(tracing_subscriber::fmt::format().without_time())
                    .with_store::<ChattyStore>(),
            )
            .with_writer(move || writer.clone())
            .finish(),
    )
    .unwrap();
    let records = Arc::new(Mutex::new(Vec::new()));
    ClsLogger::new(Recorder(records.clone()))
        .with_store::<ChattyStore>()
        .init(log::LevelFilter::Info)
        .unwrap();

    let store = ChattyStore {
        tenant: "acme".into(),
        chatty: Chatty,
    };
    CLS.run_with_sync(store, || {
        tracing::info!("outer-line");
        log::info!("outer-record");
    });

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let outer = lines.iter().filter(|l| l.contains("outer-line")).count();
    assert_eq!(outer, 1, "{text}");
    let outer_line = lines.iter().find(|l| l.contains("outer-line")).unwrap();
    assert!(
        outer_line.ends_with("tenant=acme chatty=chatty"),
        "{outer_line}"
    );
    let nested: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("from-display"))
        .collect();
    assert!(!nested.is_empty(), "the nested line was written: {text}");
    for line in nested {
        assert!(
            !line.contains("tenant="),
            "a nested line gets no fields: {line}"
        );
    }

    let records = records.lock().unwrap().clone();
    assert!(
        records.contains(&"outer-record [tenant,chatty]".to_owned()),
        "{records:?}"
    );
    assert!(
        records.contains(&"from-display-log []".to_owned()),
        "{records:?}"
    );
}
