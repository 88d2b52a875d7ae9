//! What the `video2doc` command offers other programs too: the local HTTP API, which
//! the desktop app serves while its window runs when the settings turn it on.

pub mod http;
