//! The harness every decoder target shares.
use bytes::Bytes;
use weir_core::{Output, Transform};

/// Output limit for the targets: memory stays bounded by construction.
pub const LIMIT: u64 = 8 << 20;
/// Output chunk size for the targets.
pub const CHUNK: usize = 32 * 1024;
/// Decoder memory limit for the formats that have one (xz, lzma): a header
/// asking for more is a limit error, as for untrusted input.
#[allow(dead_code)]
pub const MEMORY: u64 = 64 << 20;

/// Feeds `data[1..]` to `dec` in chunks whose size comes from `data[0]`,
/// the way weir's driver does, and checks the invariants: no panic (the
/// fuzzer catches those), never more than the limit out, never more than one
/// chunk per call, and errors are corrupt-input or limit errors.
pub fn drive(mut dec: impl Transform<In = Bytes, Out = Bytes>, data: &[u8]) {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let size = match first {
        0 => usize::MAX,
        n => n as usize * (1 + (n as usize >> 6) * 97),
    };
    let mut out = Output::new();
    let mut total = 0u64;
    let mut take = |out: &mut Output<Bytes>| {
        let n: usize = out.drain().map(|c| c.len()).sum();
        assert!(n <= CHUNK, "one call emitted {n} bytes");
        total += n as u64;
        assert!(total <= LIMIT, "emitted {total} bytes past the limit");
    };
    let input = Bytes::copy_from_slice(input);
    let res = (|| {
        let mut pos = 0;
        while pos < input.len() {
            let n = size.min(input.len() - pos);
            dec.transform(input.slice(pos..pos + n), &mut out)?;
            pos += n;
            take(&mut out);
            while dec.resume(&mut out)? {
                take(&mut out);
            }
            // The last `resume` (the one that said `false`) may emit too.
            take(&mut out);
        }
        dec.flush(&mut out)?;
        take(&mut out);
        while dec.resume(&mut out)? {
            take(&mut out);
        }
        take(&mut out);
        Ok::<(), weir_core::Error>(())
    })();
    if let Err(e) = res {
        assert!(e.is_corrupt() || e.is_limit(), "unexpected error kind: {e}");
    }
}
