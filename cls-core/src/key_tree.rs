//! The `#[cls(propagate)]` keys of a derived store as a constant, nested stores included,
//! so that the derive can refuse at compile time a key that a nested store uses again.
//!
//! Within one struct the derive sees every key and reports a repeat on its token. Across
//! nesting it cannot: a nested store is another derive's output, known only by its type.
//! So each derived store carries its keys as a [`KeyTree`] constant, its nested stores'
//! trees linked in, and the derive of a struct emits a `const _` per field that may be a
//! nested store, calling [`check_nested_keys`]; a repeat panics during constant
//! evaluation, which is a compile error naming the key and both fields.
//!
//! Whether a field's type is a store is answered by [`KeyProbe`]: its inherent constant
//! exists only for `T: ClsStore` and takes precedence over the trait constant every
//! `KeyProbe<T>` has (an empty tree). Like the autoref probes that decide what
//! `visit_tagged` follows, it asks on the field type as written where the struct is
//! defined, so the tree holds exactly the keys that visiting finds: a field whose type is
//! an unbounded type parameter is a leaf to both.
//!
//! The one gap is in a generic struct: a `const _` cannot name its parameters, so its
//! derive checks a tree of its own keys and of the nested fields whose types name none of
//! them, and a field whose type does (`T` bounded by `ClsStore`, `Inner<T>`) can bring in a
//! repeated key. `PropagateLayer::with_store` and `ClsLayer::new` check the assembled keys
//! in debug builds for that case. (A non-generic store that nests the generic one is checked as
//! usual, against the generic store's whole tree.)

use core::marker::PhantomData;

use crate::store::ClsStore;

/// The `#[cls(propagate)]` keys of one store and of the stores nested in it.
#[derive(Debug)]
pub struct KeyTree {
    /// The struct's name, for messages.
    pub store: &'static str,
    /// `(field, key)` of each propagated field of the struct itself.
    pub fields: &'static [(&'static str, &'static str)],
    /// `(field, tree)` of each field that may be a nested store; a leaf's tree is
    /// [`KeyTree::EMPTY`].
    pub nested: &'static [(&'static str, &'static KeyTree)],
}

impl KeyTree {
    /// The tree of a type that is not a store.
    pub const EMPTY: &'static KeyTree = &KeyTree {
        store: "",
        fields: &[],
        nested: &[],
    };
}

/// Asks whether `T` is a store: `<KeyProbe<T>>::PROPAGATE_KEYS` is its tree if so, else
/// [`KeyTree::EMPTY`].
#[derive(Debug)]
pub struct KeyProbe<T: ?Sized>(PhantomData<T>);

/// The answer for any type: no keys. Shadowed by the inherent constant for stores.
pub trait NoKeyTree {
    /// [`KeyTree::EMPTY`].
    const PROPAGATE_KEYS: &'static KeyTree = KeyTree::EMPTY;
}

impl<T: ?Sized> NoKeyTree for KeyProbe<T> {}

impl<T: ClsStore> KeyProbe<T> {
    /// The store's own tree.
    pub const PROPAGATE_KEYS: &'static KeyTree = T::__PROPAGATE_KEYS;
}

/// A propagated field somewhere in a tree: the struct that declares it and its name.
#[derive(Clone, Copy)]
struct Owner {
    store: &'static str,
    field: &'static str,
}

/// Panics, at compile time when called in a constant, when a key of the tree nested at
/// `tree.nested[at]` is a key of `tree`'s own fields or of a tree nested before it: one
/// baggage member would then fill only the field visited first.
///
/// # Panics
///
/// On such a repeat, with a message naming the key and both fields.
pub const fn check_nested_keys(tree: &KeyTree, at: usize) {
    let (via, nested) = tree.nested[at];
    if let Some((key, found)) = first_key_clash(tree, at, nested) {
        let (earlier, earlier_via) = match own_field(tree, key) {
            Some(own) => (own, ""),
            None => match find_before(tree, at, key) {
                Some(clash) => clash,
                // `first_key_clash` found the key in one of the two places.
                None => (
                    Owner {
                        store: "",
                        field: "",
                    },
                    "",
                ),
            },
        };
        let (buffer, len) = joined(&[
            "the baggage key `",
            key,
            "` is used by the field `",
            found.field,
            "` of `",
            found.store,
            "` (nested in `",
            via,
            "`) and already by the field `",
            earlier.field,
            "` of `",
            earlier.store,
            if earlier_via.is_empty() {
                ""
            } else {
                "` (nested in `"
            },
            earlier_via,
            if earlier_via.is_empty() { "`" } else { "`)" },
            "; one baggage member would fill only the first: give one of them another key, \
             `#[cls(propagate = \"other_key\")]`",
        ]);
        // A constant evaluation formats only one `&str`: the message was joined first.
        let (message, _) = buffer.split_at(len);
        match core::str::from_utf8(message) {
            Ok(message) => panic!("{}", message),
            // Cut inside a character: the fixed part says enough.
            Err(_) => panic!("a `#[cls(propagate)]` key is used again by a nested store"),
        }
    }
}

/// The first key of `subtree` (itself nested in `tree` at `at`) that `tree` has already,
/// and where `subtree` has it.
const fn first_key_clash(
    tree: &KeyTree,
    at: usize,
    subtree: &KeyTree,
) -> Option<(&'static str, Owner)> {
    let mut i = 0;
    while i < subtree.fields.len() {
        let (field, key) = subtree.fields[i];
        if own_field(tree, key).is_some() || find_before(tree, at, key).is_some() {
            let owner = Owner {
                store: subtree.store,
                field,
            };
            return Some((key, owner));
        }
        i += 1;
    }
    let mut n = 0;
    while n < subtree.nested.len() {
        if let Some(clash) = first_key_clash(tree, at, subtree.nested[n].1) {
            return Some(clash);
        }
        n += 1;
    }
    None
}

/// The field of `tree` itself that has `key`.
const fn own_field(tree: &KeyTree, key: &str) -> Option<Owner> {
    let mut i = 0;
    while i < tree.fields.len() {
        let (field, own) = tree.fields[i];
        if str_eq(own, key) {
            return Some(Owner {
                store: tree.store,
                field,
            });
        }
        i += 1;
    }
    None
}

/// The field with `key` in the trees nested in `tree` before `at`, and the field of
/// `tree` that holds that nested store.
const fn find_before(tree: &KeyTree, at: usize, key: &str) -> Option<(Owner, &'static str)> {
    let mut n = 0;
    while n < at {
        let (via, nested) = tree.nested[n];
        if let Some(owner) = find(nested, key) {
            return Some((owner, via));
        }
        n += 1;
    }
    None
}

/// The field with `key` anywhere in `tree`.
const fn find(tree: &KeyTree, key: &str) -> Option<Owner> {
    if let Some(owner) = own_field(tree, key) {
        return Some(owner);
    }
    let mut n = 0;
    while n < tree.nested.len() {
        if let Some(owner) = find(tree.nested[n].1, key) {
            return Some(owner);
        }
        n += 1;
    }
    None
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The longest message [`check_nested_keys`] writes; longer ones are cut (keys are at
/// most a few dozen bytes in practice, names shorter).
const MESSAGE_BYTES: usize = 1024;

/// `pieces` joined, in a buffer, and the length used.
const fn joined(pieces: &[&str]) -> ([u8; MESSAGE_BYTES], usize) {
    let mut buffer = [0_u8; MESSAGE_BYTES];
    let mut len = 0;
    let mut p = 0;
    while p < pieces.len() {
        let bytes = pieces[p].as_bytes();
        let mut i = 0;
        while i < bytes.len() && len < MESSAGE_BYTES {
            buffer[len] = bytes[i];
            len += 1;
            i += 1;
        }
        p += 1;
    }
    (buffer, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &KeyTree = &KeyTree {
        store: "User",
        fields: &[("id", "user.id")],
        nested: &[],
    };

    const fn app(fields: &'static [(&'static str, &'static str)]) -> KeyTree {
        KeyTree {
            store: "AppStore",
            fields,
            nested: &[("note", KeyTree::EMPTY), ("user", USER)],
        }
    }

    fn message(tree: &KeyTree, at: usize) -> Option<String> {
        let caught = std::panic::catch_unwind(|| check_nested_keys(tree, at));
        caught.err().map(|payload| {
            payload
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_default()
        })
    }

    #[test]
    fn distinct_keys_pass() {
        let tree = app(&[("tenant", "tenant")]);
        assert_eq!(message(&tree, 0), None);
        assert_eq!(message(&tree, 1), None);
    }

    #[test]
    fn a_key_of_the_parent_used_again_in_a_nested_store_is_named() {
        let tree = app(&[("user_id", "user.id")]);
        assert_eq!(
            message(&tree, 1).as_deref(),
            Some(
                "the baggage key `user.id` is used by the field `id` of `User` (nested in \
                 `user`) and already by the field `user_id` of `AppStore`; one baggage member \
                 would fill only the first: give one of them another key, \
                 `#[cls(propagate = \"other_key\")]`"
            )
        );
    }

    #[test]
    fn two_nested_stores_with_one_key_are_named_with_their_fields() {
        const DEEP: &KeyTree = &KeyTree {
            store: "Job",
            fields: &[],
            nested: &[("owner", USER)],
        };
        let tree = KeyTree {
            store: "AppStore",
            fields: &[],
            nested: &[("user", USER), ("job", DEEP)],
        };
        assert_eq!(message(&tree, 0), None);
        let shown = message(&tree, 1).unwrap_or_default();
        assert!(
            shown.starts_with(
                "the baggage key `user.id` is used by the field `id` of `User` (nested in \
                 `job`) and already by the field `id` of `User` (nested in `user`);"
            ),
            "{shown}"
        );
    }

    #[test]
    fn a_message_past_the_buffer_is_cut() {
        let key: &'static str = Box::leak("k".repeat(2000).into_boxed_str());
        let fields: &'static [(&'static str, &'static str)] = Box::leak(Box::new([("a", key)]));
        let inner: &'static KeyTree = Box::leak(Box::new(KeyTree {
            store: "Inner",
            fields,
            nested: &[],
        }));
        let nested: &'static [(&'static str, &'static KeyTree)] =
            Box::leak(Box::new([("inner", inner)]));
        let tree = KeyTree {
            store: "Outer",
            fields,
            nested,
        };
        let shown = message(&tree, 0).unwrap_or_default();
        assert_eq!(shown.len(), MESSAGE_BYTES);
    }
}
