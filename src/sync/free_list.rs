//! The free list of a chunk pool: a bounded multi-producer multi-consumer queue.

/// The free list of a chunk pool: a lock-free bounded queue on std, a loom-visible mutex under
/// loom (so that loom sees the happens-before edge that hands a chunk from reader to writer).
#[cfg(not(loom))]
pub(crate) struct FreeList<T>(crossbeam_queue::ArrayQueue<T>);

#[cfg(not(loom))]
impl<T> FreeList<T> {
    pub(crate) fn new(cap: usize) -> Self {
        Self(crossbeam_queue::ArrayQueue::new(cap.max(1)))
    }
    /// Returns the value back when the list is full.
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
        self.0.push(value)
    }
    pub(crate) fn pop(&self) -> Option<T> {
        self.0.pop()
    }
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(loom)]
pub(crate) struct FreeList<T> {
    cap: usize,
    items: loom::sync::Mutex<Vec<T>>,
}

#[cfg(loom)]
impl<T> FreeList<T> {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            items: loom::sync::Mutex::new(Vec::new()),
        }
    }
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
        let mut items = self.items.lock().unwrap();
        if items.len() >= self.cap {
            return Err(value);
        }
        items.push(value);
        Ok(())
    }
    pub(crate) fn pop(&self) -> Option<T> {
        self.items.lock().unwrap().pop()
    }
    pub(crate) fn len(&self) -> usize {
        self.items.lock().unwrap().len()
    }
}
