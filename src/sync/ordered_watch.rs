//! A watch channel (the latest value; every receiver woken when it
//! changes) that wakes its receivers in the order they began to wait.
//!
//! tokio's `watch` spreads its waiting receivers over eight notifiers
//! picked by tokio's thread-local generator, which is seeded from a
//! process-wide counter that madsim does not control: two runs of one
//! seed in one process (madsim's determinism check, a seed after the
//! first of a suite) then woke a sync's waiters in another order, and a
//! failing seed might not replay alone. The madsim build uses this
//! channel (one `Notify`, whose waiters wake in a fixed order); every
//! other build keeps tokio's. The API is the subset of tokio's we use.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use tokio::sync::Notify;

pub mod error {
    /// The sender is gone: the value will not change again.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct RecvError(pub(super) ());
}
use error::RecvError;

/// A borrowed value; holds the channel's read lock, as tokio's does.
pub struct Ref<'a, T>(RwLockReadGuard<'a, T>);

impl<T> std::ops::Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

struct Channel<T> {
    value: RwLock<T>,
    /// Bumped after every change of `value`.
    version: AtomicU64,
    sender_gone: AtomicBool,
    changed: Notify,
}

pub struct Sender<T> {
    channel: Arc<Channel<T>>,
}

pub struct Receiver<T> {
    channel: Arc<Channel<T>>,
    /// The version this receiver last saw.
    seen: u64,
}

pub fn channel<T>(value: T) -> (Sender<T>, Receiver<T>) {
    let channel = Arc::new(Channel {
        value: RwLock::new(value),
        version: AtomicU64::new(0),
        sender_gone: AtomicBool::new(false),
        changed: Notify::new(),
    });
    let receiver = Receiver {
        channel: channel.clone(),
        seen: 0,
    };
    (Sender { channel }, receiver)
}

impl<T> Sender<T> {
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref(super::read(&self.channel.value))
    }

    /// A receiver that has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        Receiver {
            channel: self.channel.clone(),
            seen: self.channel.version.load(Ordering::SeqCst),
        }
    }

    /// Sets the value, wakes the receivers, and returns the old value.
    pub fn send_replace(&self, value: T) -> T {
        let old = std::mem::replace(&mut *super::write(&self.channel.value), value);
        self.announce();
        old
    }

    /// Lets `modify` change the value in place; wakes the receivers if it
    /// says it did.
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        let modified = modify(&mut super::write(&self.channel.value));
        if modified {
            self.announce();
        }
        modified
    }

    fn announce(&self) {
        self.channel.version.fetch_add(1, Ordering::SeqCst);
        self.channel.changed.notify_waiters();
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.channel.sender_gone.store(true, Ordering::SeqCst);
        self.channel.changed.notify_waiters();
    }
}

impl<T> Receiver<T> {
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref(super::read(&self.channel.value))
    }

    /// The value, now marked as seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        self.seen = self.channel.version.load(Ordering::SeqCst);
        Ref(super::read(&self.channel.value))
    }

    /// Whether there is a value this receiver has not seen; an error once
    /// the sender is gone.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        if self.channel.sender_gone.load(Ordering::SeqCst) {
            return Err(RecvError(()));
        }
        Ok(self.channel.version.load(Ordering::SeqCst) != self.seen)
    }

    /// Waits for a value this receiver has not seen; an error once the
    /// sender is gone and the last value was seen.
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        self.wait_until(|_| true).await.map(drop)
    }

    /// Waits until the value (the current one included) satisfies `done`.
    pub async fn wait_for(
        &mut self,
        done: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        let mut done = done;
        let current = self.channel.version.load(Ordering::SeqCst);
        if done(&super::read(&self.channel.value)) {
            self.seen = current;
            return Ok(Ref(super::read(&self.channel.value)));
        }
        self.wait_until(done).await
    }

    /// Waits for an unseen value that satisfies `done`.
    async fn wait_until(
        &mut self,
        mut done: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        loop {
            // Registered before the checks, so a change made between them
            // and the wait still wakes this receiver.
            let notified = self.channel.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let version = self.channel.version.load(Ordering::SeqCst);
            if version != self.seen {
                self.seen = version;
                if done(&super::read(&self.channel.value)) {
                    return Ok(Ref(super::read(&self.channel.value)));
                }
            } else if self.channel.sender_gone.load(Ordering::SeqCst) {
                return Err(RecvError(()));
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    async fn soon<F: std::future::Future>(future: F) -> Option<F::Output> {
        tokio::time::timeout(Duration::from_millis(50), future)
            .await
            .ok()
    }

    #[tokio::test]
    async fn a_receiver_wakes_for_a_value_it_has_not_seen() {
        let (sender, mut receiver) = channel(1);
        assert_eq!(soon(receiver.changed()).await, None, "1 was seen");
        sender.send_replace(2);
        assert_eq!(soon(receiver.changed()).await, Some(Ok(())));
        assert_eq!(*receiver.borrow(), 2);
        assert_eq!(soon(receiver.changed()).await, None, "2 was seen");
        assert_eq!(receiver.has_changed(), Ok(false));
        let mut late = sender.subscribe();
        sender.send_replace(3);
        assert_eq!(late.has_changed(), Ok(true));
        assert_eq!(*late.borrow_and_update(), 3);
        assert_eq!(late.has_changed(), Ok(false));
        assert_eq!(soon(late.changed()).await, None, "borrow_and_update saw 3");
    }

    #[tokio::test]
    async fn an_unmodified_value_wakes_nobody() {
        let (sender, mut receiver) = channel(1);
        assert!(!sender.send_if_modified(|_| false));
        assert_eq!(soon(receiver.changed()).await, None);
        assert!(sender.send_if_modified(|v| {
            *v = 5;
            true
        }));
        assert_eq!(soon(receiver.changed()).await, Some(Ok(())));
        assert_eq!(*sender.borrow(), 5);
    }

    #[tokio::test]
    async fn a_gone_sender_ends_the_wait_after_its_last_value() {
        let (sender, mut receiver) = channel(1);
        sender.send_replace(2);
        drop(sender);
        assert_eq!(receiver.has_changed(), Err(RecvError(())));
        assert_eq!(soon(receiver.changed()).await, Some(Ok(())));
        assert_eq!(soon(receiver.changed()).await, Some(Err(RecvError(()))));
    }

    #[tokio::test]
    async fn wait_for_takes_the_current_value_or_waits_for_one_that_fits() {
        let (sender, mut receiver) = channel(3);
        let found = soon(receiver.wait_for(|v| *v >= 3))
            .await
            .map(|r| r.map(|v| *v));
        assert_eq!(found, Some(Ok(3)));
        let waiting =
            tokio::spawn(async move { receiver.wait_for(|v| *v >= 10).await.map(|v| *v) });
        sender.send_replace(7);
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        sender.send_replace(10);
        assert_eq!(soon(waiting).await.map(|r| r.ok()), Some(Some(Ok(10))));
    }

    /// The point of the module: receivers wake in the order they began to
    /// wait, every time.
    #[tokio::test]
    async fn receivers_wake_in_the_order_they_began_to_wait() {
        let (sender, _receiver) = channel(0);
        let woken = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for id in 0..16 {
            let mut receiver = sender.subscribe();
            let woken = woken.clone();
            tasks.push(tokio::spawn(async move {
                let _ = receiver.changed().await;
                crate::sync::lock(&woken).push(id);
            }));
            // Each task is waiting before the next one starts.
            tokio::task::yield_now().await;
        }
        sender.send_replace(1);
        for task in tasks {
            task.await.expect("no panic");
        }
        assert_eq!(*crate::sync::lock(&woken), (0..16).collect::<Vec<_>>());
    }
}
