//! Unit tests of the cluster node.
