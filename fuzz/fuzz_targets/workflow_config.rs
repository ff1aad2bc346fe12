//! The pipeline TOML config: parse, validate, and the TOML round trip of what validates.
#![no_main]
use glance_workflow::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = Config::from_toml(text) {
        if c.validate().is_ok() {
            if let Ok(t) = glance_workflow::to_toml(&c) {
                let _ = Config::from_toml(&t);
            }
        }
    }
});
