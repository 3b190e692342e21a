//! One read of a streamed source shared by all its queries: each query scans a table whose
//! only partition is the receiving end of a bounded channel that `ingest` fills while it
//! reads the files (`ingest::Tee`). The queries run concurrently with the read, so the
//! source is decoded once and never held whole in memory.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::common::tree_node::TreeNode;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use futures::channel::mpsc::{Receiver, Sender, channel};

use crate::ingest::stream::Item;

/// Batches a query's channel holds before the reader waits for it.
const CHANNEL_BATCHES: usize = 4;

/// A table for one query, and the sending end that feeds it.
pub fn channel_table(schema: SchemaRef) -> Result<(Sender<Item>, Arc<dyn TableProvider>), DataFusionError> {
    let (tx, rx) = channel(CHANNEL_BATCHES);
    let partition = Arc::new(ChannelPartition { schema: schema.clone(), rx: Mutex::new(Some(rx)) });
    Ok((tx, Arc::new(StreamingTable::try_new(schema, vec![partition])?)))
}

#[derive(Debug)]
struct ChannelPartition {
    schema: SchemaRef,
    rx: Mutex<Option<Receiver<Item>>>,
}

impl PartitionStream for ChannelPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }
    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let rx = self.rx.lock().ok().and_then(|mut r| r.take());
        match rx {
            Some(rx) => Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), rx)),
            // A plan that scanned its table twice would see the source once: an error, never
            // a short input.
            None => Box::pin(RecordBatchStreamAdapter::new(
                self.schema.clone(),
                futures::stream::once(async { Err(DataFusionError::Internal("a streamed source was scanned twice by one query".into())) }),
            )),
        }
    }
}

/// The columns of its source a plan reads: those its scans project and those its
/// expressions name (a superset is fine: it only costs reading more).
pub fn columns_read(plan: &LogicalPlan, out: &mut HashSet<String>) {
    let _ = plan.apply(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            if scan.projection.is_some() {
                out.extend(scan.projected_schema.fields().iter().map(|f| f.name().clone()));
            }
        }
        for e in node.expressions() {
            out.extend(e.column_refs().into_iter().map(|c| c.name.clone()));
        }
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    });
}
