//! `blkio_config` as the engine takes it. The model keeps it as written (compose-go's device
//! entries print with Go's field names); here its values are read: weights, and rates in bytes
//! (or operations) per second.

use serde_json::Value;

use crate::spec::short::parse_bytes;

/// Block I/O weights and limits, per container and per device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlkioOptions {
    pub weight: Option<u16>,
    /// `(device path, weight)`.
    pub weight_device: Vec<(String, u16)>,
    /// `(device path, rate)`: bytes per second for the `bps` keys, operations for `iops`.
    pub device_read_bps: Vec<(String, u64)>,
    pub device_write_bps: Vec<(String, u64)>,
    pub device_read_iops: Vec<(String, u64)>,
    pub device_write_iops: Vec<(String, u64)>,
}

impl BlkioOptions {
    /// Reads a service's `blkio_config`; entries whose values are not numbers are left out.
    pub fn from_config(config: Option<&Value>) -> BlkioOptions {
        let Some(config) = config else {
            return BlkioOptions::default();
        };
        let rates = |key: &str| devices(config, key, "rate", rate);
        BlkioOptions {
            weight: config.get("weight").and_then(weight),
            weight_device: devices(config, "weight_device", "weight", weight),
            device_read_bps: rates("device_read_bps"),
            device_write_bps: rates("device_write_bps"),
            device_read_iops: rates("device_read_iops"),
            device_write_iops: rates("device_write_iops"),
        }
    }
}

fn devices<T>(
    config: &Value,
    key: &str,
    value_key: &str,
    read: fn(&Value) -> Option<T>,
) -> Vec<(String, T)> {
    let entries = config.get(key).and_then(Value::as_array);
    entries
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let path = entry.get("path")?.as_str()?.to_string();
            Some((path, read(entry.get(value_key)?)?))
        })
        .collect()
}

/// A weight written as a number or a string of digits.
fn weight(value: &Value) -> Option<u16> {
    match value {
        Value::String(text) => text.trim().parse().ok(),
        other => other.as_u64().and_then(|n| n.try_into().ok()),
    }
}

/// A rate: a number, or a size such as `1mb`.
fn rate(value: &Value) -> Option<u64> {
    match value {
        Value::String(text) => parse_bytes(text),
        other => other.as_u64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_and_rates_are_read_with_their_units() {
        let config = serde_json::json!({
            "weight": 300,
            "weight_device": [{"path": "/dev/sda", "weight": "400"}],
            "device_read_bps": [{"path": "/dev/sda", "rate": "1mb"}],
            "device_write_iops": [{"path": "/dev/sdb", "rate": 30}],
        });
        let blkio = BlkioOptions::from_config(Some(&config));
        assert_eq!(blkio.weight, Some(300));
        assert_eq!(blkio.weight_device, [("/dev/sda".to_string(), 400)]);
        assert_eq!(blkio.device_read_bps, [("/dev/sda".to_string(), 1 << 20)]);
        assert_eq!(blkio.device_write_iops, [("/dev/sdb".to_string(), 30)]);
        assert!(blkio.device_write_bps.is_empty() && blkio.device_read_iops.is_empty());
    }
}
