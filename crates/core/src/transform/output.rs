use std::collections::VecDeque;
use std::fmt;

/// Where a [`Transform`](crate::Transform) pushes its output chunks (Node's
/// `this.push()`).
///
/// # Examples
/// ```
/// use weir::Output;
///
/// let mut out = Output::new();
/// out.push("a");
/// out.push("b");
/// assert_eq!(out.len(), 2);
/// assert_eq!(out.pop(), Some("a"));
/// assert_eq!(out.drain().collect::<Vec<_>>(), ["b"]);
/// assert!(out.is_empty());
/// ```
pub struct Output<T> {
    items: VecDeque<T>,
}

impl<T> Output<T> {
    /// An empty output.
    pub fn new() -> Self {
        Output {
            items: VecDeque::new(),
        }
    }

    /// Emits one chunk.
    #[inline]
    pub fn push(&mut self, chunk: T) {
        self.items.push_back(chunk);
    }

    /// How many chunks wait to be taken.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no chunk waits to be taken.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Takes the oldest chunk.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        self.items.pop_front()
    }

    /// Takes every chunk, oldest first.
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.items.drain(..)
    }

    /// Discards every chunk.
    pub fn clear(&mut self) {
        self.items.clear();
    }
}

impl<T> Default for Output<T> {
    fn default() -> Self {
        Output::new()
    }
}

impl<T> fmt::Debug for Output<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output")
            .field("len", &self.items.len())
            .finish()
    }
}
