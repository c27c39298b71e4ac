//! Pointer types: [`Atomic`] (a shared slot), [`Owned`] (an unpublished object) and
//! [`Shared`] (a pointer valid while a [`Guard`] is alive). Every object lives in a [`Node`]
//! that records its birth epoch.

use core::alloc::Layout;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::ptr;

use super::collector::Guard;
use crate::sync::atomic::{AtomicPtr, Ordering};

/// An object with the epoch it was published in.
pub(super) struct Node<T> {
    /// Epoch read before publication; 0 for objects created outside a guard (conservative:
    /// born "before everything").
    pub(super) birth: u64,
    pub(super) value: T,
}

/// An object owned by the current thread, not yet shared.
pub struct Owned<T> {
    node: Box<Node<T>>,
}

/// The layout of the allocation behind every `Owned<T>` / `Shared<T>` (what a recycling
/// collector's pool blocks must have to hold a `T`).
pub(super) fn node_layout<T>() -> Layout {
    Layout::new::<Node<T>>()
}

/// Drops the value of the node behind `ptr` in place, leaving its memory allocated.
///
/// # Safety
///
/// `ptr` points to a live `Node<T>` that nothing accesses any more; its value is dropped once
/// and the memory is afterwards reused by [`Owned::from_block`] or deallocated with
/// [`node_layout::<T>`].
pub(super) unsafe fn drop_value_in_place<T>(ptr: *mut ()) {
    // SAFETY: guaranteed by the caller.
    unsafe { ptr::drop_in_place(ptr::addr_of_mut!((*ptr.cast::<Node<T>>()).value)) }
}

impl<T> Owned<T> {
    /// Allocates `value`.
    pub fn new(value: T) -> Self {
        Self {
            node: Box::new(Node { birth: 0, value }),
        }
    }

    /// Moves `value` into `block`, a recycled allocation.
    ///
    /// # Safety
    ///
    /// `block` was allocated by the global allocator with [`node_layout::<T>`], holds no live
    /// value, and nothing else accesses it.
    pub(super) unsafe fn from_block(block: *mut u8, value: T) -> Self {
        let node = block.cast::<Node<T>>();
        // SAFETY: [1] `block` is valid for writes of `Node<T>` and suitably aligned (it has
        // `Node<T>`'s layout); [2] `Box::from_raw` takes memory the global allocator gave out
        // with exactly the layout `Box<Node<T>>` deallocates with; it is exclusively ours.
        unsafe {
            node.write(Node { birth: 0, value });
            Self {
                node: Box::from_raw(node),
            }
        }
    }

    /// Stamps the birth epoch and converts into a pointer that can be stored into an
    /// [`Atomic`]. If it is never published, turn it back with [`Shared::into_owned`].
    pub fn into_shared<'g>(self, guard: &'g Guard<'_>) -> Shared<'g, T> {
        let mut node = self.node;
        // The birth is read before publication; any reader that acquires the pointer reads a
        // later or equal epoch (read-read coherence), see the module docs.
        node.birth = guard.current_epoch();
        Shared::from_node(Box::into_raw(node))
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.node.value
    }
}

impl<T> Deref for Owned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.node.value
    }
}

impl<T> DerefMut for Owned<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.node.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Owned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Owned").field(&self.node.value).finish()
    }
}

/// A pointer loaded under a [`Guard`]; valid for the guard's lifetime `'g`.
pub struct Shared<'g, T> {
    ptr: *mut Node<T>,
    _marker: PhantomData<(&'g (), *const T)>,
}

impl<T> Clone for Shared<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Shared<'_, T> {}

impl<T> PartialEq for Shared<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        self.ptr == other.ptr
    }
}

impl<T> Eq for Shared<'_, T> {}

impl<T> fmt::Debug for Shared<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Shared({:p})", self.ptr)
    }
}

impl<'g, T> Shared<'g, T> {
    /// The null pointer.
    pub fn null() -> Self {
        Self::from_node(ptr::null_mut())
    }

    fn from_node(ptr: *mut Node<T>) -> Self {
        Self {
            ptr,
            _marker: PhantomData,
        }
    }

    pub(super) fn as_node_ptr(self) -> *mut Node<T> {
        self.ptr
    }

    /// Returns `true` for the null pointer.
    pub fn is_null(self) -> bool {
        self.ptr.is_null()
    }

    /// Dereferences the pointer.
    ///
    /// # Safety
    ///
    /// The pointer was loaded from an [`Atomic`] under the guard of lifetime `'g` (or created
    /// by [`Owned::into_shared`] and not retired), and every object reachable from that
    /// `Atomic` is retired only after being unlinked.
    pub unsafe fn as_ref(self) -> Option<&'g T> {
        // SAFETY: the caller guarantees the node is alive for `'g`.
        unsafe { self.ptr.as_ref().map(|n| &n.value) }
    }

    /// Takes ownership of the object.
    ///
    /// # Safety
    ///
    /// The pointer is non-null, unlinked, not retired, and no other thread can access it.
    pub unsafe fn into_owned(self) -> Owned<T> {
        Owned {
            // SAFETY: nodes are allocated by `Owned::new`; exclusivity by the caller.
            node: unsafe { Box::from_raw(self.ptr) },
        }
    }
}

/// A shared, atomically updated pointer to an epoch-managed object.
///
/// Dropping an `Atomic` does not drop the object it points to; take it back with
/// [`Atomic::into_owned`] or retire it.
pub struct Atomic<T> {
    ptr: AtomicPtr<Node<T>>,
}

// SAFETY: an `Atomic<T>` hands `&T` to every thread that loads it and `T` to the thread that
// destroys it, so it is as thread-safe as `T` is `Send + Sync`.
unsafe impl<T: Send + Sync> Send for Atomic<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for Atomic<T> {}

impl<T> fmt::Debug for Atomic<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Atomic({:p})", self.ptr.load(Ordering::Relaxed))
    }
}

impl<T> Default for Atomic<T> {
    fn default() -> Self {
        Self::null()
    }
}

impl<T> Atomic<T> {
    /// A slot holding a fresh object (birth epoch 0).
    pub fn new(value: T) -> Self {
        Self {
            ptr: AtomicPtr::new(Box::into_raw(Owned::new(value).node)),
        }
    }

    /// A slot initially holding `ptr` (which may already be reachable elsewhere).
    pub fn from_shared(ptr: Shared<'_, T>) -> Self {
        Self {
            ptr: AtomicPtr::new(ptr.ptr),
        }
    }

    /// An empty slot.
    pub fn null() -> Self {
        Self {
            ptr: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Loads the pointer under `guard`'s reservation (extending it to the current epoch if the
    /// epoch moved since the last protected load). The result is valid while `guard` lives.
    pub fn load<'g>(&self, guard: &'g Guard<'_>) -> Shared<'g, T> {
        Shared::from_node(guard.protect_raw(&self.ptr))
    }

    /// Returns `true` if the slot holds `ptr` (a comparison only: nothing is loaded for
    /// dereferencing, so no guard is needed).
    #[inline]
    pub fn holds(&self, ptr: Shared<'_, T>, order: Ordering) -> bool {
        self.ptr.load(order) == ptr.ptr
    }

    /// Stores `new`. The previous pointer is not retired; use [`swap`](Self::swap) to get it.
    pub fn store(&self, new: Shared<'_, T>, order: Ordering) {
        self.ptr.store(new.ptr, order);
    }

    /// Stores `new` and returns the previous pointer.
    pub fn swap<'g>(
        &self,
        new: Shared<'_, T>,
        order: Ordering,
        _guard: &'g Guard<'_>,
    ) -> Shared<'g, T> {
        Shared::from_node(self.ptr.swap(new.ptr, order))
    }

    /// Stores `new` if the slot holds `current`; returns the previous value either way
    /// (`Ok` on success, `Err` with the actual value on failure).
    ///
    /// # Errors
    ///
    /// The slot held a different pointer; `new` is untouched and still owned by the caller.
    pub fn compare_exchange<'g>(
        &self,
        current: Shared<'_, T>,
        new: Shared<'_, T>,
        success: Ordering,
        failure: Ordering,
        _guard: &'g Guard<'_>,
    ) -> Result<Shared<'g, T>, Shared<'g, T>> {
        self.ptr
            .compare_exchange(current.ptr, new.ptr, success, failure)
            .map(Shared::from_node)
            .map_err(Shared::from_node)
    }

    /// Weak variant of [`compare_exchange`](Self::compare_exchange) (may fail spuriously).
    ///
    /// # Errors
    ///
    /// As `compare_exchange`, plus spurious failures.
    pub fn compare_exchange_weak<'g>(
        &self,
        current: Shared<'_, T>,
        new: Shared<'_, T>,
        success: Ordering,
        failure: Ordering,
        _guard: &'g Guard<'_>,
    ) -> Result<Shared<'g, T>, Shared<'g, T>> {
        self.ptr
            .compare_exchange_weak(current.ptr, new.ptr, success, failure)
            .map(Shared::from_node)
            .map_err(Shared::from_node)
    }

    /// Takes the current object out (leaving null), if any.
    ///
    /// # Safety
    ///
    /// As for [`into_owned`](Self::into_owned): nothing else accesses or frees the object.
    pub unsafe fn take_owned(&mut self) -> Option<Owned<T>> {
        let p = self.ptr.swap(ptr::null_mut(), Ordering::Relaxed);
        (!p.is_null()).then(|| Owned {
            // SAFETY: exclusivity guaranteed by the caller; nodes come from `Owned::new`.
            node: unsafe { Box::from_raw(p) },
        })
    }

    /// Takes ownership of the current object, if any.
    ///
    /// # Safety
    ///
    /// No other thread accesses this slot or its object any more, and the object is not
    /// retired.
    pub unsafe fn into_owned(self) -> Option<Owned<T>> {
        let p = self.ptr.load(Ordering::Relaxed);
        if p.is_null() {
            None
        } else {
            Some(Owned {
                // SAFETY: exclusivity guaranteed by the caller; nodes come from `Owned::new`.
                node: unsafe { Box::from_raw(p) },
            })
        }
    }
}
