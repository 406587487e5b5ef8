//! The `video_request` message: the pit wall asks a driver to send their screen (issue 24). The
//! driver decides: their agent shows the request in the driver's window (and says it), and
//! video starts only when the driver accepts it there.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::validate::{Validate, Validator};

/// Data of `video_request`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VideoRequest {
    pub id: String,
    /// The driver asked to send their screen.
    pub driver_id: String,
    pub sender_id: String,
    pub sender_name: String,
    pub timestamp: Timestamp,
}

impl Validate for VideoRequest {
    fn validate_into(&self, v: &mut Validator) {
        v.id("id", &self.id);
        v.id("driverId", &self.driver_id);
        v.id("senderId", &self.sender_id);
        v.text("senderName", &self.sender_name, 1, 100);
    }
}
