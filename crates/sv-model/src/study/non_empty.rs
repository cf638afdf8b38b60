//! A vector that always holds at least one element.

use crate::ModelError;

/// A `Vec` with at least one element; the schema's `minOccurs="1" maxOccurs="unbounded"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonEmpty<T>(Vec<T>);

impl<T> NonEmpty<T> {
    pub fn one(first: T) -> Self {
        NonEmpty(vec![first])
    }

    /// `what` and `item` name the container in the error, e.g. ("series", "image").
    pub fn from_vec(
        items: Vec<T>,
        what: &'static str,
        item: &'static str,
    ) -> Result<Self, ModelError> {
        if items.is_empty() {
            return Err(ModelError::Empty { what, item });
        }
        Ok(NonEmpty(items))
    }

    pub fn push(&mut self, item: T) {
        self.0.push(item);
    }

    pub fn first(&self) -> &T {
        &self.0[0]
    }

    pub fn as_slice(&self) -> &[T] {
        &self.0
    }

    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }

    #[allow(clippy::len_without_is_empty)] // never empty, by construction
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn into_vec(self) -> Vec<T> {
        self.0
    }
}

impl<'a, T> IntoIterator for &'a NonEmpty<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
