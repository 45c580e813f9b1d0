//! keel's integration tests, one module per topic.

mod calls;
mod nan;
mod refs;
mod stress;
mod traps;
