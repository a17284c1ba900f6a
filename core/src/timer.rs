//! Deadlines of many connections, kept sorted for free.
//!
//! Every deadline in one [`DeadlineList`] is `now + d` for the same `d`
//! (the response timeout, the connect timeout) and `now` never goes
//! backwards, so appending keeps the list sorted: the front is always the
//! earliest. An intrusive doubly linked list over connection indices makes
//! insert, remove and front O(1) and its memory O(connections), whatever
//! the request rate.

use crate::Instant;

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Node<T> {
    prev: u32,
    next: u32,
    deadline: Option<T>,
}

/// A FIFO of (connection, deadline) with O(1) removal of any connection.
/// Generic over the time type so that it can be tested with plain numbers.
#[derive(Debug)]
pub(crate) struct DeadlineList<T = Instant> {
    head: u32,
    tail: u32,
    nodes: Vec<Node<T>>,
}

impl<T: Copy + Ord> DeadlineList<T> {
    pub(crate) fn new(slots: usize) -> Self {
        assert!(slots < NIL as usize, "too many connections for one engine");
        Self {
            head: NIL,
            tail: NIL,
            nodes: vec![
                Node {
                    prev: NIL,
                    next: NIL,
                    deadline: None
                };
                slots
            ],
        }
    }

    /// Appends `id`; `deadline` must not be earlier than the current back's
    /// (a slightly earlier one only delays its expiry, never loses it).
    pub(crate) fn push_back(&mut self, id: usize, deadline: T) {
        self.remove(id);
        let i = id as u32;
        self.nodes[id] = Node {
            prev: self.tail,
            next: NIL,
            deadline: Some(deadline),
        };
        match self.tail {
            NIL => self.head = i,
            t => self.nodes[t as usize].next = i,
        }
        self.tail = i;
    }

    /// Removes `id` if present.
    pub(crate) fn remove(&mut self, id: usize) {
        let Node {
            prev,
            next,
            deadline,
        } = self.nodes[id];
        if deadline.is_none() {
            return;
        }
        match prev {
            NIL => self.head = next,
            p => self.nodes[p as usize].next = next,
        }
        match next {
            NIL => self.tail = prev,
            n => self.nodes[n as usize].prev = prev,
        }
        self.nodes[id] = Node {
            prev: NIL,
            next: NIL,
            deadline: None,
        };
    }

    /// The earliest entry.
    pub(crate) fn front(&self) -> Option<(usize, T)> {
        match self.head {
            NIL => None,
            h => self.nodes[h as usize].deadline.map(|d| (h as usize, d)),
        }
    }

    /// Removes and returns the front entry if its deadline is at or before `now`.
    pub(crate) fn pop_expired(&mut self, now: T) -> Option<usize> {
        let (id, deadline) = self.front()?;
        (deadline <= now).then(|| {
            self.remove(id);
            id
        })
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, id: usize) -> bool {
        self.nodes[id].deadline.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_with_removal() {
        let mut l = DeadlineList::<u64>::new(4);
        assert_eq!(l.front(), None);
        l.push_back(2, 1);
        l.push_back(0, 2);
        l.push_back(3, 3);
        assert_eq!(l.front(), Some((2, 1)));
        l.remove(2);
        assert_eq!(l.front(), Some((0, 2)));
        l.remove(3);
        l.remove(3);
        assert!(!l.contains(3));
        assert_eq!(l.pop_expired(1), None);
        assert_eq!(l.pop_expired(2), Some(0));
        assert_eq!(l.front(), None);
        // Re-pushing moves an entry to the back.
        l.push_back(1, 4);
        l.push_back(2, 5);
        l.push_back(1, 6);
        assert_eq!(l.pop_expired(10), Some(2));
        assert_eq!(l.pop_expired(10), Some(1));
        assert_eq!(l.pop_expired(10), None);
    }
}
