//! A growable buffer in its own anonymous memory mapping, for the few large buffers of a run
//! that are dropped while training goes on: a data file's bytes as they are read, a dataset's u8
//! values, the stage-1 codes.
//!
//! Not a `Vec`, because the global allocator keeps freed memory for reuse and hands it back to
//! the OS only later: MNIST's 47 MB image buffer, dropped at the switch to stage 2, was still
//! resident when stage 2's parameters and moments arrived, and so were the smaller buffers a
//! `Vec` leaves behind as it doubles while a gzip file is decoded; training peaked at 157 MB
//! where its live data never exceeded about 110 MB (docs/results.md, "Training memory"). A
//! mapping goes back to the OS the moment it is dropped or outgrown. It is anonymous (private,
//! zero-filled, backed by no file), so nothing another process does to a file can fault it,
//! unlike a file map (`data/file_bytes.rs`). Pages are committed as they are first written, so
//! reserving the size a header promises costs nothing until the data arrive.

use std::alloc::Layout;
use std::io::Read;
use std::marker::PhantomData;

use bytemuck::Pod;
use memmap2::MmapMut;

pub struct MappedVec<T: Pod> {
    map: MmapMut,
    len: usize,
    _values: PhantomData<T>,
}

impl<T: Pod> MappedVec<T> {
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// A mapping that cannot be made is an allocation failure, handled as `Vec` handles one.
    pub fn with_capacity(capacity: usize) -> Self {
        Self::try_with_capacity(capacity).unwrap_or_else(|_| {
            std::alloc::handle_alloc_error(
                Layout::array::<T>(capacity.max(1)).unwrap_or(Layout::new::<T>()),
            )
        })
    }

    /// `with_capacity` that reports a mapping the system refuses (a size hint read from a
    /// file, under strict overcommit) instead of aborting.
    pub fn try_with_capacity(capacity: usize) -> std::io::Result<Self> {
        let bytes = capacity
            .checked_mul(size_of::<T>())
            .ok_or_else(|| std::io::Error::other("buffer size overflows"))?;
        Ok(Self {
            map: MmapMut::map_anon(bytes)?,
            len: 0,
            _values: PhantomData,
        })
    }

    pub fn from_slice(values: &[T]) -> Self {
        let mut v = Self::with_capacity(values.len());
        v.extend_from_slice(values);
        v
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn capacity(&self) -> usize {
        self.map.len() / size_of::<T>()
    }

    /// Every value the mapping can hold, the unused tail (zeros, or values cut off) included.
    /// The mapping is page-aligned and a multiple of `T`'s size, so the casts cannot fail.
    /// An empty mapping may not be aligned for `T`: it is never cast.
    fn whole(&self) -> &[T] {
        if self.map.is_empty() {
            return &[];
        }
        bytemuck::cast_slice(&self.map[..])
    }

    fn whole_mut(&mut self) -> &mut [T] {
        if self.map.is_empty() {
            return &mut [];
        }
        bytemuck::cast_slice_mut(&mut self.map[..])
    }

    /// Makes room for `additional` more values, doubling so that appends stay amortised O(1);
    /// the old mapping is unmapped at once.
    pub fn reserve(&mut self, additional: usize) {
        let needed = self
            .len
            .checked_add(additional)
            .unwrap_or_else(|| std::alloc::handle_alloc_error(Layout::new::<T>()));
        if needed <= self.capacity() {
            return;
        }
        let mut grown = Self::with_capacity(needed.max(self.capacity().saturating_mul(2)));
        grown.whole_mut()[..self.len].copy_from_slice(&self[..]);
        grown.len = self.len;
        *self = grown;
    }

    pub fn extend_from_slice(&mut self, values: &[T]) {
        self.reserve(values.len());
        let at = self.len;
        self.whole_mut()[at..at + values.len()].copy_from_slice(values);
        self.len += values.len();
    }

    pub fn push(&mut self, value: T) {
        self.extend_from_slice(&[value]);
    }

    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

impl MappedVec<u8> {
    /// Appends everything `reader` yields, as `Read::read_to_end` does for a `Vec`.
    pub fn read_to_end(&mut self, reader: &mut impl Read) -> std::io::Result<usize> {
        let start = self.len;
        loop {
            if self.len == self.capacity() {
                self.reserve(64 * 1024);
            }
            let at = self.len;
            match reader.read(&mut self.map[at..]) {
                Ok(0) => return Ok(self.len - start),
                Ok(k) => self.len += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl<T: Pod> Default for MappedVec<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Pod> std::ops::Deref for MappedVec<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.whole()[..self.len]
    }
}

impl<T: Pod> std::ops::DerefMut for MappedVec<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        let len = self.len;
        &mut self.whole_mut()[..len]
    }
}

impl<T: Pod> Clone for MappedVec<T> {
    fn clone(&self) -> Self {
        Self::from_slice(self)
    }
}

impl<T: Pod + PartialEq> PartialEq for MappedVec<T> {
    fn eq(&self, other: &Self) -> bool {
        self[..] == other[..]
    }
}

impl<T: Pod + std::fmt::Debug> std::fmt::Debug for MappedVec<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Pod> From<Vec<T>> for MappedVec<T> {
    fn from(v: Vec<T>) -> Self {
        Self::from_slice(&v)
    }
}

impl<T: Pod> From<&[T]> for MappedVec<T> {
    fn from(v: &[T]) -> Self {
        Self::from_slice(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_grow_truncate_and_compare_like_a_vec() {
        let mut m = MappedVec::<f32>::new();
        let mut v = Vec::new();
        assert!(m.is_empty());
        for i in 0..5000 {
            m.push(i as f32 * 0.5);
            v.push(i as f32 * 0.5);
        }
        m.extend_from_slice(&[1.0, 2.0]);
        v.extend_from_slice(&[1.0, 2.0]);
        assert_eq!(&m[..], &v[..]);
        assert!(m.capacity() >= m.len());
        m.truncate(3);
        v.truncate(3);
        assert_eq!(&m[..], &v[..]);
        m.truncate(10);
        assert_eq!(m.len(), 3, "truncate never lengthens");
        m[1] = 7.0;
        assert_eq!(m[1], 7.0);
        assert_eq!(m.clone(), m);
        assert_ne!(
            MappedVec::from_slice(&[1.0f32]),
            MappedVec::from_slice(&[2.0f32])
        );
        assert_eq!(format!("{:?}", MappedVec::from_slice(&[1u8, 2])), "[1, 2]");
    }

    #[test]
    fn read_to_end_takes_a_stream_whole_across_growth() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut m = MappedVec::from_slice(&[9u8]);
        let n = m.read_to_end(&mut &data[..]).expect("read");
        assert_eq!(n, data.len());
        assert_eq!(m[0], 9);
        assert_eq!(&m[1..], &data[..]);
    }
}
