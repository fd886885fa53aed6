//! Capability tokens: an unguessable, unforgeable bearer string for one object (an order's
//! public status URL). Stateless: the token is the object's id and a MAC of it under a key
//! derived from the keyring, so every replica checks it without a lookup, and a master key
//! rotation keeps old tokens valid while the old key stays in the keyring.
use super::Keyring;
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use subtle::ConstantTimeEq;
use uuid::Uuid;

const MAC_LEN: usize = 16;

fn mac(key: &[u8; 32], purpose: &str, id: Uuid) -> [u8; MAC_LEN] {
    #[allow(clippy::expect_used)]
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(purpose.as_bytes());
    mac.update(b"|");
    mac.update(id.as_bytes());
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(&full[..MAC_LEN]);
    out
}

impl Keyring {
    /// The token granting `purpose` on `id`: base64url(id ‖ MAC₁₂₈), 43 characters.
    pub fn capability(&self, purpose: &str, id: Uuid) -> String {
        let mut raw = [0u8; 16 + MAC_LEN];
        raw[..16].copy_from_slice(id.as_bytes());
        if let Some(key) = self.capability_keys().next() {
            raw[16..].copy_from_slice(&mac(key, purpose, id));
        }
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    /// The id a token grants `purpose` on, if any key of the keyring made it.
    pub fn check_capability(&self, purpose: &str, token: &str) -> Option<Uuid> {
        if token.len() != 43 {
            return None;
        }
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .ok()?;
        if raw.len() != 16 + MAC_LEN {
            return None;
        }
        let id = Uuid::from_slice(&raw[..16]).ok()?;
        let given = &raw[16..];
        self.capability_keys()
            .any(|key| bool::from(mac(key, purpose, id).ct_eq(given)))
            .then_some(id)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ring(ids: &[&str]) -> Keyring {
        let spec: Vec<String> = ids
            .iter()
            .map(|id| Keyring::generate_line(id).unwrap().expose().to_owned())
            .collect();
        Keyring::parse(&spec.join(",")).unwrap()
    }

    #[test]
    fn a_token_grants_its_purpose_on_its_id_only() {
        let k = ring(&["a"]);
        let id = Uuid::now_v7();
        let token = k.capability("order-status", id);
        assert_eq!(k.check_capability("order-status", &token), Some(id));
        assert_eq!(k.check_capability("other", &token), None);
        let mut forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&token)
            .unwrap();
        forged[..16].copy_from_slice(Uuid::now_v7().as_bytes());
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged);
        assert_eq!(k.check_capability("order-status", &forged), None);
        assert_eq!(ring(&["a"]).check_capability("order-status", &token), None);
        assert_eq!(k.check_capability("order-status", "short"), None);
    }

    #[test]
    fn tokens_outlive_a_key_rotation_while_the_old_key_is_kept() {
        let old_line = Keyring::generate_line("old").unwrap();
        let new_line = Keyring::generate_line("new").unwrap();
        let old = Keyring::parse(old_line.expose()).unwrap();
        let id = Uuid::now_v7();
        let token = old.capability("order-status", id);
        let both = Keyring::parse(&format!("{},{}", new_line.expose(), old_line.expose())).unwrap();
        assert_eq!(both.check_capability("order-status", &token), Some(id));
        assert_ne!(both.capability("order-status", id), token);
        let only_new = Keyring::parse(new_line.expose()).unwrap();
        assert_eq!(only_new.check_capability("order-status", &token), None);
    }
}
