//! Where a streamed source's batches go as they are read: every query of the source at
//! once, each through a bounded channel (so a source is read once, and held in memory a few
//! batches at a time instead of whole).

use datafusion::arrow::array::RecordBatch;
use datafusion::error::DataFusionError;
use futures::SinkExt;
use futures::channel::mpsc::Sender;

/// One reading of a source, sent to every query that scans it.
pub type Item = Result<RecordBatch, DataFusionError>;

/// The sending ends of a source's queries' channels.
pub struct Tee {
    senders: Vec<Sender<Item>>,
    /// Every batch, when the source's data checks need it whole after the read.
    kept: Option<Vec<RecordBatch>>,
}

impl Tee {
    /// `keep`: also keep every batch (see [`Tee::into_kept`]).
    pub fn new(senders: Vec<Sender<Item>>, keep: bool) -> Self {
        Tee { senders, kept: keep.then(Vec::new) }
    }

    /// Whether the batches are kept (for the data checks).
    pub fn keeps(&self) -> bool {
        self.kept.is_some()
    }

    /// The batches kept, if asked for; dropping the senders ends every query's input.
    pub fn into_kept(self) -> Option<Vec<RecordBatch>> {
        self.kept
    }

    /// Send `batch` to every query still reading (a query that stopped, e.g. failed, has
    /// dropped its end: it is left out from then on). Waits while a query's channel is full.
    pub async fn send(&mut self, batch: &RecordBatch) {
        if let Some(kept) = &mut self.kept {
            kept.push(batch.clone());
        }
        let mut open = Vec::with_capacity(self.senders.len());
        for mut s in std::mem::take(&mut self.senders) {
            if s.send(Ok(batch.clone())).await.is_ok() {
                open.push(s);
            }
        }
        self.senders = open;
    }

    /// The source could not be read: every query gets an error instead of a short input
    /// (a query must never finish on part of its source).
    pub async fn fail(&mut self, why: &str) {
        for mut s in std::mem::take(&mut self.senders) {
            let _ = s.send(Err(DataFusionError::Execution(format!("the source could not be read: {why}")))).await;
        }
    }
}
