//! Where a streamed source's batches go as they are read: every query of the source at
//! once, each through a bounded channel (so a source is read once, and held in memory a few
//! batches at a time instead of whole).

use datafusion::arrow::array::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::execution::memory_pool::MemoryReservation;
use futures::SinkExt;
use futures::channel::mpsc::Sender;

/// One reading of a source, sent to every query that scans it.
pub type Item = Result<RecordBatch, DataFusionError>;

/// The sending ends of a source's queries' channels.
pub struct Tee {
    senders: Vec<Sender<Item>>,
    /// Every batch, when the source's data checks need it whole after the read.
    kept: Option<Vec<RecordBatch>>,
    /// The kept batches' memory, counted in the build's pool (`--memory-limit`).
    reservation: Option<MemoryReservation>,
    /// Why the batches could not be kept within the pool (then nothing is kept and every
    /// query has been given an error).
    over_limit: Option<String>,
}

impl Tee {
    /// `keep`: also keep every batch (see [`Tee::into_kept`]).
    pub fn new(senders: Vec<Sender<Item>>, keep: bool) -> Self {
        Tee { senders, kept: keep.then(Vec::new), reservation: None, over_limit: None }
    }

    /// Count the kept batches in `reservation`'s pool: when it is full, the source fails.
    pub fn accounted(mut self, reservation: MemoryReservation) -> Self {
        self.reservation = Some(reservation);
        self
    }

    /// The pool's refusal, when the kept batches did not fit (see [`Tee::accounted`]).
    pub fn over_limit(&self) -> Option<&str> {
        self.over_limit.as_deref()
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
        if self.over_limit.is_some() {
            return;
        }
        if self.kept.is_some() {
            if let Some(Err(e)) = self.reservation.as_mut().map(|r| r.try_grow(batch.get_array_memory_size())) {
                let why = e.find_root().to_string();
                self.kept = None;
                self.fail(&why).await;
                self.over_limit = Some(why);
                return;
            }
        }
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
