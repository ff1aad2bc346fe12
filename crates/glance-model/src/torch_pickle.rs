//! The tensor index of a PyTorch checkpoint's `data.pkl` (the pickle inside a
//! `pytorch_model.bin` zip archive, as `torch.save` writes it), read WITHOUT executing
//! pickle code: a restricted reader that knows the opcodes of pickle protocols 2-5 that
//! build plain data and accepts only the globals torch uses to store tensors
//! (`torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter`, the typed
//! storage classes such as `torch.FloatStorage`, `collections.OrderedDict`). Any other
//! global (`os.system`, `builtins.eval`, ...) or opcode is refused with an error naming
//! it and its byte offset, before anything it names could run: this reader runs
//! nothing.
//!
//! What it yields: for each name of the top-level dictionary (a state dict), the
//! tensor's storage (the archive entry `data/<key>`), its element type, offset, shape and
//! strides.

use std::collections::HashMap;

/// An element type of a torch storage that glance reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TorchDtype {
    /// `torch.FloatStorage`: f32.
    F32,
    /// `torch.HalfStorage`: f16.
    F16,
    /// `torch.BFloat16Storage`: bf16.
    BF16,
    /// Another storage type (its name): indexed, refused when read as weights.
    Other(&'static str),
}

impl TorchDtype {
    /// Bytes per element (0 for [`TorchDtype::Other`]).
    pub fn width(self) -> usize {
        match self {
            TorchDtype::F32 => 4,
            TorchDtype::F16 | TorchDtype::BF16 => 2,
            TorchDtype::Other(_) => 0,
        }
    }
}

/// The storage classes torch pickles by name, and their element types.
const STORAGES: [(&str, TorchDtype); 11] = [
    ("FloatStorage", TorchDtype::F32),
    ("HalfStorage", TorchDtype::F16),
    ("BFloat16Storage", TorchDtype::BF16),
    ("DoubleStorage", TorchDtype::Other("f64")),
    ("LongStorage", TorchDtype::Other("i64")),
    ("IntStorage", TorchDtype::Other("i32")),
    ("ShortStorage", TorchDtype::Other("i16")),
    ("CharStorage", TorchDtype::Other("i8")),
    ("ByteStorage", TorchDtype::Other("u8")),
    ("BoolStorage", TorchDtype::Other("bool")),
    ("ComplexFloatStorage", TorchDtype::Other("c64")),
];

/// One tensor of a checkpoint, as the pickle describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TorchTensor {
    /// The storage's key: its bytes are the archive entry `data/<key>`.
    pub storage: String,
    /// The element type.
    pub dtype: TorchDtype,
    /// Offset of the first element in the storage, in elements.
    pub offset: usize,
    /// The shape.
    pub shape: Vec<usize>,
    /// Strides in elements.
    pub stride: Vec<usize>,
}

/// A value on the unpickler's stack.
#[derive(Debug, Clone)]
enum Value {
    None,
    Bool,
    Int(i64),
    Float,
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    /// An allowed global: (module, name).
    Global(&'static str, &'static str),
    Storage(String, TorchDtype),
    Tensor(TorchTensor),
    Mark,
}

/// The globals the reader accepts (any other is refused).
const ALLOWED: [(&str, &str); 3] = [
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"),
    ("collections", "OrderedDict"),
];

/// The allowed global `module.name`, interned, or an error.
fn global(module: &str, name: &str, at: usize) -> Result<Value, String> {
    if let Some(&(m, n)) = ALLOWED.iter().find(|(m, n)| *m == module && *n == name) {
        return Ok(Value::Global(m, n));
    }
    if module == "torch" {
        if let Some(&(n, _)) = STORAGES.iter().find(|(n, _)| *n == name) {
            return Ok(Value::Global("torch", n));
        }
    }
    Err(format!(
        "byte {at}: the pickle names `{module}.{name}`, which is not a tensor type: \
         refusing it (glance reads only the tensors of a state dict, and runs no pickle code)"
    ))
}

/// The tensors of a checkpoint's `data.pkl` (see the module docs), by name.
pub fn read_state_dict(pkl: &[u8]) -> Result<Vec<(String, TorchTensor)>, String> {
    let value = Unpickler::new(pkl).run()?;
    let Value::Dict(items) = value else {
        return Err("the pickle holds no dictionary of tensors (not a state dict)".into());
    };
    let mut out = Vec::with_capacity(items.len());
    for (k, v) in items {
        match (k, v) {
            (Value::Str(name), Value::Tensor(t)) => out.push((name, t)),
            (Value::Str(name), _) => {
                return Err(format!("entry `{name}` of the state dict is not a tensor"))
            }
            _ => return Err("a key of the state dict is not a string".into()),
        }
    }
    Ok(out)
}

/// At most this many memo entries and stack values (a state dict of 10^6 tensors fits).
const MAX_VALUES: usize = 1 << 24;

/// At most this many values copied out of the memo (a state dict copies a few small
/// values per tensor: a storage type, a location string).
const MAX_COPIED: usize = 1 << 22;

struct Unpickler<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    memo: HashMap<u32, Value>,
    /// Values copied out of the memo so far (a pickle that appends a list to itself
    /// and reads it back doubles it each time: bounded by [`MAX_COPIED`]).
    copied: usize,
}

impl<'a> Unpickler<'a> {
    fn new(data: &'a [u8]) -> Self {
        Unpickler {
            data,
            pos: 0,
            stack: Vec::new(),
            memo: HashMap::new(),
            copied: 0,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let Some(end) = end else {
            return Err(format!(
                "byte {}: the pickle ends inside a value of {n} bytes",
                self.pos
            ));
        };
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn line(&mut self) -> Result<&'a str, String> {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| format!("byte {}: unterminated line", self.pos))?;
        let s = std::str::from_utf8(&rest[..n])
            .map_err(|_| format!("byte {}: a name that is not UTF-8", self.pos))?;
        self.pos += n + 1;
        Ok(s)
    }

    fn string(&mut self, n: usize) -> Result<String, String> {
        let at = self.pos;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| format!("byte {at}: a string that is not UTF-8"))
    }

    fn push(&mut self, v: Value) -> Result<(), String> {
        if self.stack.len() >= MAX_VALUES {
            return Err(format!("byte {}: the pickle's stack is too deep", self.pos));
        }
        self.stack.push(v);
        Ok(())
    }

    fn pop(&mut self, at: usize) -> Result<Value, String> {
        self.stack
            .pop()
            .ok_or_else(|| format!("byte {at}: the pickle pops an empty stack"))
    }

    /// The values above the topmost mark (the mark removed).
    fn pop_mark(&mut self, at: usize) -> Result<Vec<Value>, String> {
        let i = self
            .stack
            .iter()
            .rposition(|v| matches!(v, Value::Mark))
            .ok_or_else(|| format!("byte {at}: no mark on the pickle's stack"))?;
        let items = self.stack.split_off(i + 1);
        self.stack.pop();
        Ok(items)
    }

    fn top(&mut self, at: usize) -> Result<&mut Value, String> {
        self.stack
            .last_mut()
            .ok_or_else(|| format!("byte {at}: the pickle reads an empty stack"))
    }

    fn memo_put(&mut self, key: u32, at: usize) -> Result<(), String> {
        let v = self
            .stack
            .last()
            .cloned()
            .ok_or_else(|| format!("byte {at}: memoizing an empty stack"))?;
        if self.memo.len() >= MAX_VALUES {
            return Err(format!("byte {at}: too many memo entries"));
        }
        self.memo.insert(key, v);
        Ok(())
    }

    fn memo_get(&mut self, key: u32, at: usize) -> Result<(), String> {
        let v = self
            .memo
            .get(&key)
            .ok_or_else(|| format!("byte {at}: memo entry {key} was never stored"))?;
        self.copied = self
            .copied
            .saturating_add(values_in(v, MAX_COPIED.saturating_sub(self.copied)));
        if self.copied >= MAX_COPIED {
            return Err(format!(
                "byte {at}: the pickle copies more than {MAX_COPIED} values out of its memo"
            ));
        }
        let v = v.clone();
        self.push(v)
    }

    fn run(mut self) -> Result<Value, String> {
        loop {
            let at = self.pos;
            let op = self.u8()?;
            match op {
                0x80 => {
                    let proto = self.u8()?;
                    if proto > 5 {
                        return Err(format!("byte {at}: pickle protocol {proto} is unknown"));
                    }
                }
                0x95 => {
                    self.u64()?; // FRAME: a length hint
                }
                b'.' => return self.pop(at),
                b'(' => self.push(Value::Mark)?,
                b'N' => self.push(Value::None)?,
                0x88 | 0x89 => self.push(Value::Bool)?,
                b'K' => {
                    let v = self.u8()?;
                    self.push(Value::Int(i64::from(v)))?
                }
                b'M' => {
                    let v = self.u16()?;
                    self.push(Value::Int(i64::from(v)))?
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.push(Value::Int(i64::from(v)))?
                }
                0x8a => {
                    // LONG1: a little-endian two's-complement integer of n bytes
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    if n > 8 {
                        return Err(format!("byte {at}: an integer of {n} bytes"));
                    }
                    let mut a = if b.last().is_some_and(|&x| x & 0x80 != 0) {
                        [0xffu8; 8]
                    } else {
                        [0u8; 8]
                    };
                    a[..n].copy_from_slice(b);
                    self.push(Value::Int(i64::from_le_bytes(a)))?
                }
                b'G' => {
                    self.take(8)?;
                    self.push(Value::Float)?
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let s = self.string(n)?;
                    self.push(Value::Str(s))?
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let s = self.string(n)?;
                    self.push(Value::Str(s))?
                }
                0x8d => {
                    let n = usize::try_from(self.u64()?).unwrap_or(usize::MAX);
                    let s = self.string(n)?;
                    self.push(Value::Str(s))?
                }
                b')' => self.push(Value::Tuple(Vec::new()))?,
                b']' => self.push(Value::List(Vec::new()))?,
                b'}' => self.push(Value::Dict(Vec::new()))?,
                b't' => {
                    let items = self.pop_mark(at)?;
                    self.push(Value::Tuple(items))?
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < n {
                        return Err(format!("byte {at}: a tuple of {n} from a shorter stack"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.push(Value::Tuple(items))?
                }
                b'q' => {
                    let k = self.u8()?;
                    self.memo_put(u32::from(k), at)?
                }
                b'r' => {
                    let k = self.u32()?;
                    self.memo_put(k, at)?
                }
                0x94 => {
                    let k = self.memo.len() as u32;
                    self.memo_put(k, at)?
                }
                b'h' => {
                    let k = self.u8()?;
                    self.memo_get(u32::from(k), at)?
                }
                b'j' => {
                    let k = self.u32()?;
                    self.memo_get(k, at)?
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let g = global(module, name, at)?;
                    self.push(g)?
                }
                0x93 => {
                    let name = self.pop(at)?;
                    let module = self.pop(at)?;
                    let (Value::Str(module), Value::Str(name)) = (module, name) else {
                        return Err(format!("byte {at}: STACK_GLOBAL without two strings"));
                    };
                    let g = global(&module, &name, at)?;
                    self.push(g)?
                }
                b'Q' => {
                    let pid = self.pop(at)?;
                    let storage = persistent_storage(pid, at)?;
                    self.push(storage)?
                }
                b'R' => {
                    let args = self.pop(at)?;
                    let callable = self.pop(at)?;
                    let v = reduce(callable, args, at)?;
                    self.push(v)?
                }
                b'b' => {
                    // BUILD: state for the object below; tensors and dicts take none
                    // that matters (an empty dict or None, or the `_metadata`
                    // attribute of a state dict saved as `torch.save(model.state_dict())`)
                    let state = self.pop(at)?;
                    match state {
                        Value::None => {}
                        Value::Dict(d) if d.is_empty() => {}
                        Value::Dict(d)
                            if matches!(self.top(at)?, Value::Dict(_))
                                && d.iter().all(
                                    |(k, _)| matches!(k, Value::Str(s) if s == "_metadata"),
                                ) => {}
                        Value::Tuple(t) if t.is_empty() => {}
                        _ => {
                            return Err(format!(
                                "byte {at}: BUILD with a state glance does not read"
                            ))
                        }
                    }
                }
                b's' => {
                    let v = self.pop(at)?;
                    let k = self.pop(at)?;
                    match self.top(at)? {
                        Value::Dict(d) => d.push((k, v)),
                        _ => return Err(format!("byte {at}: SETITEM on a non-dictionary")),
                    }
                }
                b'u' => {
                    let items = self.pop_mark(at)?;
                    if items.len() % 2 != 0 {
                        return Err(format!("byte {at}: SETITEMS with an odd number of values"));
                    }
                    let mut it = items.into_iter();
                    let mut pairs = Vec::new();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    match self.top(at)? {
                        Value::Dict(d) => d.extend(pairs),
                        _ => return Err(format!("byte {at}: SETITEMS on a non-dictionary")),
                    }
                }
                b'a' => {
                    let v = self.pop(at)?;
                    match self.top(at)? {
                        Value::List(l) => l.push(v),
                        _ => return Err(format!("byte {at}: APPEND to a non-list")),
                    }
                }
                b'e' => {
                    let items = self.pop_mark(at)?;
                    match self.top(at)? {
                        Value::List(l) => l.extend(items),
                        _ => return Err(format!("byte {at}: APPENDS to a non-list")),
                    }
                }
                other => {
                    return Err(format!(
                        "byte {at}: pickle opcode 0x{other:02x} is not one torch uses to store \
                         tensors: refusing it"
                    ))
                }
            }
        }
    }
}

/// The number of values in `v` (itself and everything inside), counted up to `limit`
/// (iteratively: a nested value may be deep).
fn values_in(v: &Value, limit: usize) -> usize {
    let mut todo = vec![v];
    let mut n = 0;
    while let Some(v) = todo.pop() {
        n += 1;
        if n >= limit {
            return n;
        }
        match v {
            Value::Tuple(items) | Value::List(items) => todo.extend(items),
            Value::Dict(pairs) => {
                for (k, x) in pairs {
                    todo.push(k);
                    todo.push(x);
                }
            }
            _ => {}
        }
    }
    n
}

/// A persistent id `('storage', StorageType, key, location, numel)`.
fn persistent_storage(pid: Value, at: usize) -> Result<Value, String> {
    let bad = || format!("byte {at}: a persistent id that is not a torch storage");
    let Value::Tuple(items) = pid else {
        return Err(bad());
    };
    match &items[..] {
        [Value::Str(kind), Value::Global("torch", ty), Value::Str(key), _, _]
            if kind == "storage" =>
        {
            let dtype = STORAGES
                .iter()
                .find(|(n, _)| n == ty)
                .map(|&(_, d)| d)
                .ok_or_else(bad)?;
            Ok(Value::Storage(key.clone(), dtype))
        }
        _ => Err(bad()),
    }
}

fn usize_of(v: &Value, what: &str, at: usize) -> Result<usize, String> {
    match v {
        Value::Int(i) if *i >= 0 => Ok(*i as usize),
        _ => Err(format!(
            "byte {at}: tensor {what} is not a non-negative integer"
        )),
    }
}

fn usizes_of(v: &Value, what: &str, at: usize) -> Result<Vec<usize>, String> {
    match v {
        Value::Tuple(items) => items.iter().map(|x| usize_of(x, what, at)).collect(),
        _ => Err(format!("byte {at}: tensor {what} is not a tuple")),
    }
}

/// Calls an allowed global with `args`.
fn reduce(callable: Value, args: Value, at: usize) -> Result<Value, String> {
    let Value::Tuple(args) = args else {
        return Err(format!("byte {at}: REDUCE without an argument tuple"));
    };
    match callable {
        Value::Global("collections", "OrderedDict") if args.is_empty() => {
            Ok(Value::Dict(Vec::new()))
        }
        Value::Global("torch._utils", "_rebuild_tensor_v2") => {
            // (storage, offset, size, stride, requires_grad, backward_hooks[, metadata])
            let [Value::Storage(key, dtype), offset, size, stride, ..] = &args[..] else {
                return Err(format!("byte {at}: _rebuild_tensor_v2 without a storage"));
            };
            let shape = usizes_of(size, "size", at)?;
            let stride = usizes_of(stride, "stride", at)?;
            if shape.len() != stride.len() {
                return Err(format!(
                    "byte {at}: tensor size and stride differ in length"
                ));
            }
            Ok(Value::Tensor(TorchTensor {
                storage: key.clone(),
                dtype: *dtype,
                offset: usize_of(offset, "offset", at)?,
                shape,
                stride,
            }))
        }
        Value::Global("torch._utils", "_rebuild_parameter") => match args.into_iter().next() {
            Some(t @ Value::Tensor(_)) => Ok(t),
            _ => Err(format!("byte {at}: _rebuild_parameter without a tensor")),
        },
        other => Err(format!(
            "byte {at}: cannot call {other:?} with these arguments (not how torch stores tensors)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A protocol-2 pickle of `{"w": tensor}` as torch.save writes it, with `global` as
    /// the rebuild function.
    fn pickle(rebuild: &str) -> Vec<u8> {
        let mut p = vec![0x80, 2];
        p.extend_from_slice(b"ccollections\nOrderedDict\nq\x00)R(X\x01\x00\x00\x00w");
        p.extend_from_slice(format!("c{rebuild}\n").as_bytes());
        p.extend_from_slice(b"((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x06tQK\x00K\x02K\x03\x86K\x03K\x01\x86\x89h\x00)Rtq\x01Ru.");
        p
    }

    #[test]
    fn reads_a_state_dict() {
        let got = read_state_dict(&pickle("torch._utils\n_rebuild_tensor_v2")).unwrap();
        assert_eq!(got.len(), 1);
        let (name, t) = &got[0];
        assert_eq!(name, "w");
        assert_eq!(t.storage, "0");
        assert_eq!(t.dtype, TorchDtype::F32);
        assert_eq!(
            (t.shape.as_slice(), t.stride.as_slice()),
            (&[2, 3][..], &[3, 1][..])
        );
    }

    #[test]
    fn refuses_other_globals_and_opcodes() {
        let err = read_state_dict(&pickle("os\nsystem")).unwrap_err();
        assert!(
            err.contains("`os.system`") && err.contains("refusing"),
            "{err}"
        );
        let err = read_state_dict(&pickle("builtins\neval")).unwrap_err();
        assert!(err.contains("`builtins.eval`"), "{err}");
        // INST (opcode `i`) imports and calls in one step
        let err = read_state_dict(b"\x80\x02(ios\nsystem\n.").unwrap_err();
        assert!(err.contains("opcode 0x69"), "{err}");
        // truncated
        let p = pickle("torch._utils\n_rebuild_tensor_v2");
        assert!(read_state_dict(&p[..p.len() / 2]).is_err());
        assert!(read_state_dict(b"").is_err());
        // a huge declared string in a few bytes
        assert!(read_state_dict(b"\x80\x02X\xff\xff\xff\xff").is_err());
        // a list appended to itself through the memo doubles at each step: 40 steps
        // would be 2^40 values
        let mut p = b"\x80\x02]q\x00".to_vec();
        for _ in 0..40 {
            p.extend_from_slice(b"h\x00aq\x00"); // append a copy of itself, memo the result
        }
        p.push(b'.');
        let err = read_state_dict(&p).unwrap_err();
        assert!(err.contains("copies more than"), "{err}");
    }
}
