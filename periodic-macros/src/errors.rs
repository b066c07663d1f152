//! Collects several `syn::Error`s so that one compilation shows every mistake at once.

/// An accumulator of errors, merged with [`syn::Error::combine`].
#[derive(Default)]
pub(crate) struct Errors {
    first: Option<syn::Error>,
}

impl Errors {
    /// Records `error` after the ones already collected.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.first {
            Some(first) => first.combine(error),
            None => self.first = Some(error),
        }
    }

    /// Records the error of `result`, if any, and passes its value on.
    pub(crate) fn check<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|error| self.push(error)).ok()
    }

    /// Records every error of `other` after the ones already collected.
    pub(crate) fn extend(&mut self, other: Errors) {
        if let Some(error) = other.first {
            self.push(error);
        }
    }

    /// `value`, or the collected errors if there are any.
    pub(crate) fn into_result<T>(self, value: T) -> syn::Result<T> {
        match self.first {
            Some(error) => Err(error),
            None => Ok(value),
        }
    }

    /// Whether nothing was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// The collected errors as one `syn::Error`, if any.
    pub(crate) fn into_error(self) -> Option<syn::Error> {
        self.first
    }
}
