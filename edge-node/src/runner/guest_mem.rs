//! Bounds-checked access to a guest's linear memory. Every pointer a guest hands us is
//! untrusted: a bad one must become an error code, never a host panic.

/// The `len` bytes at `ptr`, or `None` when any of them lies outside memory.
pub fn slice(mem: &[u8], ptr: u32, len: u32) -> Option<&[u8]> {
    let start = ptr as usize;
    mem.get(start..start.checked_add(len as usize)?)
}

pub fn slice_mut(mem: &mut [u8], ptr: u32, len: u32) -> Option<&mut [u8]> {
    let start = ptr as usize;
    mem.get_mut(start..start.checked_add(len as usize)?)
}

pub fn read_u32(mem: &[u8], ptr: u32) -> Option<u32> {
    let b = slice(mem, ptr, 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

pub fn read_u64(mem: &[u8], ptr: u32) -> Option<u64> {
    let b = slice(mem, ptr, 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_le_bytes(a))
}

pub fn write(mem: &mut [u8], ptr: u32, bytes: &[u8]) -> Option<()> {
    let len = u32::try_from(bytes.len()).ok()?;
    slice_mut(mem, ptr, len)?.copy_from_slice(bytes);
    Some(())
}

pub fn write_u32(mem: &mut [u8], ptr: u32, v: u32) -> Option<()> {
    write(mem, ptr, &v.to_le_bytes())
}

pub fn write_u64(mem: &mut [u8], ptr: u32, v: u64) -> Option<()> {
    write(mem, ptr, &v.to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_bounds_is_none_not_panic() {
        let mut m = vec![0u8; 16];
        assert!(slice(&m, 12, 4).is_some());
        assert!(slice(&m, 13, 4).is_none());
        assert!(slice(&m, u32::MAX, 2).is_none());
        assert!(write_u32(&mut m, 14, 1).is_none());
        assert_eq!(write_u64(&mut m, 8, 7), Some(()));
        assert_eq!(read_u64(&m, 8), Some(7));
    }
}
