//! The baseline of (a) and (b): Automerge's own sync protocol (`automerge::sync`)
//! between two in-memory peers, a device and a server, counting what it would send.
//!
//! Each peer keeps a [`sync::State`] per document, persisted across connections the way
//! Automerge asks (`State::encode`, which keeps the heads both peers share, and
//! `State::decode` on reconnecting). Every message is encoded and decoded, as a
//! transport would carry it, and only its encoded bytes are counted: no framing, no
//! document id, no authentication, all of which a real transport would add. The
//! device speaks first; the server answers each message it receives; this goes on
//! until neither has anything to send, which is how Automerge's documentation runs a
//! sync. A round trip is one device message and the server's answer to it (or a
//! server message the device has to ask for).

use automerge::AutoCommit;
use automerge::sync::{self, Message, SyncDoc as _};

/// One sync between the two peers.
#[derive(Clone, Debug, Default)]
pub(crate) struct Exchange {
    /// Encoded sizes of the device's messages, in order.
    pub(crate) up: Vec<usize>,
    /// Encoded sizes of the server's messages, in order.
    pub(crate) down: Vec<usize>,
    pub(crate) round_trips: usize,
}

impl Exchange {
    pub(crate) fn messages(&self) -> usize {
        self.up.len() + self.down.len()
    }

    pub(crate) fn bytes_up(&self) -> u64 {
        self.up.iter().sum::<usize>() as u64
    }

    pub(crate) fn bytes_down(&self) -> u64 {
        self.down.iter().sum::<usize>() as u64
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes_up() + self.bytes_down()
    }

    pub(crate) fn add(&mut self, other: &Exchange) {
        self.up.extend(&other.up);
        self.down.extend(&other.down);
        self.round_trips = self.round_trips.max(other.round_trips);
    }
}

/// A message through a transport: encoded, counted, decoded.
fn carry(message: Message, sizes: &mut Vec<usize>) -> Message {
    let bytes = message.encode();
    sizes.push(bytes.len());
    Message::decode(&bytes).expect("a sync message decodes")
}

/// Two peers and their persisted sync states.
pub(crate) struct Peers {
    pub(crate) device: AutoCommit,
    pub(crate) server: AutoCommit,
    /// `State::encode` of each side's state, as persisted between connections.
    device_state: Vec<u8>,
    server_state: Vec<u8>,
}

impl Peers {
    /// Both peers holding the document saved as `saved`, after a first full sync from
    /// empty states (returned: what that first sync cost).
    pub(crate) fn new(saved: &[u8]) -> (Peers, Exchange) {
        let mut peers = Peers {
            device: AutoCommit::load(saved).expect("the device's copy loads"),
            server: AutoCommit::load(saved).expect("the server's copy loads"),
            device_state: sync::State::new().encode(),
            server_state: sync::State::new().encode(),
        };
        let first = peers.reconnect();
        (peers, first)
    }

    /// A new connection: both states decoded from what was persisted, a sync until
    /// neither peer has anything to send, and the states persisted again.
    pub(crate) fn reconnect(&mut self) -> Exchange {
        let mut ds = sync::State::decode(&self.device_state).expect("the device's state decodes");
        let mut ss = sync::State::decode(&self.server_state).expect("the server's state decodes");
        let mut ex = Exchange::default();
        for _ in 0..32 {
            let up = self.device.sync().generate_sync_message(&mut ds);
            let sent = up.is_some();
            if let Some(up) = up {
                let up = carry(up, &mut ex.up);
                self.server
                    .sync()
                    .receive_sync_message(&mut ss, up)
                    .expect("the server takes the message");
            }
            let down = self.server.sync().generate_sync_message(&mut ss);
            let answered = down.is_some();
            if let Some(down) = down {
                let down = carry(down, &mut ex.down);
                self.device
                    .sync()
                    .receive_sync_message(&mut ds, down)
                    .expect("the device takes the message");
            }
            if !sent && !answered {
                self.device_state = ds.encode();
                self.server_state = ss.encode();
                assert_eq!(
                    self.device.get_heads(),
                    self.server.get_heads(),
                    "Automerge's sync left the peers apart"
                );
                return ex;
            }
            ex.round_trips += 1;
        }
        panic!("Automerge's sync did not settle in 32 round trips");
    }
}
