//! One read, many consumers: the reader thread sends each owned record's header and
//! base blocks to every stage through its own bounded channel ([`Tee`]), and each stage
//! sees them as an ordinary [`SequenceSource`] ([`ChannelSource`]), so the input is
//! read and decompressed once however many stages consume it. Bounded channels give
//! back-pressure: the reader never runs more than a channel's capacity ahead of the
//! slowest stage (a few blocks for [`Lag::Lockstep`], at most [`BACKGROUND_BLOCKS`]
//! for [`Lag::Background`] stages, which run behind the encoder at idle priority).
//! Time spent blocked is measured on both sides for the stage timings.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender};
use glance_seq::{RecordHeader, SeqError, SequenceSource};

use crate::progress::Counter;

/// Blocks in flight per [`Lag::Lockstep`] channel.
const LOCKSTEP_BLOCKS: usize = 8;

/// Blocks in flight per [`Lag::Background`] channel: 256 blocks of 256 KiB, so a
/// background stage may fall up to 64 MiB of bases behind the reader (blocks are
/// shared between channels, so this bounds the memory held for all of them).
pub const BACKGROUND_BLOCKS: usize = 256;

/// How far a consumer may fall behind the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lag {
    /// A few blocks: the stage sets the pace.
    Lockstep,
    /// Up to [`BACKGROUND_BLOCKS`]: the stage works when the others leave cycles free.
    Background,
}

impl Lag {
    fn capacity(self) -> usize {
        match self {
            Lag::Lockstep => LOCKSTEP_BLOCKS,
            Lag::Background => BACKGROUND_BLOCKS,
        }
    }
}

/// Where a streamed record sits in the whole (unsharded) input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordStart {
    /// The header as read (`index` is the 0-based record index over all inputs).
    pub header: RecordHeader,
    /// Bases of all earlier records, over all inputs (drives the q-value sample).
    pub global_base: u64,
}

/// A message on a stage's channel.
#[derive(Debug)]
pub enum Msg {
    /// A record starts.
    Record(RecordStart),
    /// The next bases of the current record.
    Bases(Arc<Vec<u8>>),
    /// The current record has ended.
    End,
}

/// The sending side: one bounded channel per consumer.
pub struct Tee {
    senders: Vec<Sender<Msg>>,
    /// Time spent blocked because a consumer was behind.
    pub blocked: Duration,
}

impl Tee {
    /// A tee with one consumer per entry of `lags` and their sources, in that order.
    pub fn new(lags: &[Lag]) -> (Tee, Vec<ChannelSource>) {
        let mut senders = Vec::with_capacity(lags.len());
        let mut sources = Vec::with_capacity(lags.len());
        for lag in lags {
            let (tx, rx) = bounded(lag.capacity());
            senders.push(tx);
            sources.push(ChannelSource::new(rx));
        }
        (
            Tee {
                senders,
                blocked: Duration::ZERO,
            },
            sources,
        )
    }

    /// Sends `msg` to every consumer; `false` if one has gone (it failed).
    pub fn send(&mut self, msg: impl Fn() -> Msg) -> bool {
        let t = Instant::now();
        let ok = self.senders.iter().all(|s| s.send(msg()).is_ok());
        self.blocked += t.elapsed();
        ok
    }
}

/// The receiving side, a [`SequenceSource`] over the records the reader sends.
pub struct ChannelSource {
    rx: Receiver<Msg>,
    block: Option<Arc<Vec<u8>>>,
    pos: usize,
    in_record: bool,
    pending: Option<RecordStart>,
    current: Option<RecordStart>,
    counter: Option<Arc<Counter>>,
    /// Time spent waiting for the reader.
    pub waited: Duration,
}

impl ChannelSource {
    fn new(rx: Receiver<Msg>) -> Self {
        ChannelSource {
            rx,
            block: None,
            pos: 0,
            in_record: false,
            pending: None,
            current: None,
            counter: None,
            waited: Duration::ZERO,
        }
    }

    /// Counts the bases handed out on `counter` (progress).
    pub fn set_counter(&mut self, counter: Arc<Counter>) {
        self.counter = Some(counter);
    }

    /// The record being streamed (after [`SequenceSource::next_record`]).
    pub fn current(&self) -> Option<&RecordStart> {
        self.current.as_ref()
    }

    fn recv(&mut self) -> Option<Msg> {
        let t = Instant::now();
        let m = self.rx.recv().ok();
        self.waited += t.elapsed();
        m
    }
}

impl SequenceSource for ChannelSource {
    fn next_record(&mut self, header: &mut RecordHeader) -> Result<bool, SeqError> {
        self.block = None;
        let start = loop {
            if let Some(p) = self.pending.take() {
                break p;
            }
            match self.recv() {
                Some(Msg::Record(r)) => break r,
                Some(_) => {}
                None => {
                    self.in_record = false;
                    self.current = None;
                    return Ok(false);
                }
            }
        };
        header.clone_from(&start.header);
        self.current = Some(start);
        self.in_record = true;
        Ok(true)
    }

    fn read_bases(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<usize, SeqError> {
        while self.in_record && max > 0 {
            if let Some(b) = &self.block {
                if self.pos < b.len() {
                    let n = max.min(b.len() - self.pos);
                    buf.extend_from_slice(&b[self.pos..self.pos + n]);
                    self.pos += n;
                    if let Some(c) = &self.counter {
                        c.add(n as u64);
                    }
                    return Ok(n);
                }
            }
            match self.recv() {
                Some(Msg::Bases(b)) => {
                    self.block = Some(b);
                    self.pos = 0;
                }
                Some(Msg::Record(r)) => {
                    self.pending = Some(r);
                    self.in_record = false;
                }
                Some(Msg::End) | None => self.in_record = false,
            }
        }
        Ok(0)
    }
}

/// A view of a source positioned on a record that yields that one record only (the
/// scanner's driver is run per record so that its global counters can be set).
pub struct OneRecord<'a, S: SequenceSource> {
    source: &'a mut S,
    header: Option<RecordHeader>,
}

impl<'a, S: SequenceSource> OneRecord<'a, S> {
    /// Wraps `source`, whose current record has `header`.
    pub fn new(source: &'a mut S, header: RecordHeader) -> Self {
        OneRecord {
            source,
            header: Some(header),
        }
    }
}

impl<S: SequenceSource> SequenceSource for OneRecord<'_, S> {
    fn next_record(&mut self, header: &mut RecordHeader) -> Result<bool, SeqError> {
        match self.header.take() {
            Some(h) => {
                *header = h;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn read_bases(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<usize, SeqError> {
        self.source.read_bases(buf, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_consumer_sees_every_record() {
        let (mut tee, sources) = Tee::new(&[Lag::Lockstep, Lag::Background]);
        let reader = std::thread::spawn(move || {
            for (i, seq) in [&b"ACGTACGT"[..], b"", b"GGG"].iter().enumerate() {
                let h = RecordHeader {
                    name: format!("r{i}"),
                    index: i as u64,
                    ..RecordHeader::default()
                };
                tee.send(|| {
                    Msg::Record(RecordStart {
                        header: h.clone(),
                        global_base: 0,
                    })
                });
                for part in seq.chunks(3) {
                    let block = Arc::new(part.to_vec());
                    tee.send(|| Msg::Bases(block.clone()));
                }
                tee.send(|| Msg::End);
            }
        });
        // Consumers run concurrently, as the stages do (the channels are bounded).
        let consumers: Vec<_> = sources
            .into_iter()
            .map(|mut s| {
                std::thread::spawn(move || {
                    let mut h = RecordHeader::default();
                    let mut recs = Vec::new();
                    while s.next_record(&mut h).unwrap() {
                        let mut buf = Vec::new();
                        while s.read_bases(&mut buf, 2).unwrap() > 0 {}
                        recs.push((h.name.clone(), buf));
                    }
                    recs
                })
            })
            .collect();
        let got: Vec<_> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
        reader.join().unwrap();
        let want = vec![
            ("r0".to_string(), b"ACGTACGT".to_vec()),
            ("r1".to_string(), vec![]),
            ("r2".to_string(), b"GGG".to_vec()),
        ];
        assert_eq!(got, vec![want.clone(), want]);
    }

    /// A background consumer may fall behind by its capacity while a lockstep one
    /// keeps up; neither loses a block.
    #[test]
    fn background_consumers_may_lag() {
        let (mut tee, sources) = Tee::new(&[Lag::Lockstep, Lag::Background]);
        let mut sources = sources.into_iter();
        let (mut front, mut back) = (sources.next().unwrap(), sources.next().unwrap());
        let blocks = BACKGROUND_BLOCKS - 2; // plus the record's start and end
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        let reader = std::thread::spawn(move || {
            let start = RecordStart::default();
            let mut ok = tee.send(|| Msg::Record(start.clone()));
            for i in 0..blocks {
                let block = Arc::new(vec![b"ACGT"[i % 4]]);
                ok &= tee.send(|| Msg::Bases(block.clone()));
            }
            ok &= tee.send(|| Msg::End);
            done_tx.send(ok).unwrap();
        });
        let front = std::thread::spawn(move || {
            let mut h = RecordHeader::default();
            let mut buf = Vec::new();
            assert!(front.next_record(&mut h).unwrap());
            while front.read_bases(&mut buf, 1 << 20).unwrap() > 0 {}
            buf
        });
        // The reader gets everything out while the background consumer reads nothing
        // (with a smaller capacity it would still be blocked).
        let sent = done_rx.recv_timeout(Duration::from_secs(20));
        assert_eq!(sent, Ok(true));
        let buf = front.join().unwrap();
        assert_eq!(buf.len(), blocks);
        let mut h = RecordHeader::default();
        let mut behind = Vec::new();
        assert!(back.next_record(&mut h).unwrap());
        while back.read_bases(&mut behind, 1 << 20).unwrap() > 0 {}
        assert_eq!(behind, buf);
        reader.join().unwrap();
    }
}
