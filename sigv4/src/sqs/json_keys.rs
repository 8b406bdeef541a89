//! `json_keys!`: the field names an answer reader looks for, as an enum read straight from
//! the JSON text (no string allocated per key; every other name is `Other`).

/// `json_keys!(Key { "Name" => Variant, ... })` declares `enum Key { Variant, ..., Other }`
/// and its `Deserialize`.
macro_rules! json_keys {
    ($name:ident { $($text:literal => $variant:ident),+ $(,)? }) => {
        #[derive(PartialEq)]
        enum $name {
            $($variant,)+
            Other,
        }

        impl<'de> serde_core::de::Deserialize<'de> for $name {
            fn deserialize<D: serde_core::de::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                struct KeyVisitor;

                impl serde_core::de::Visitor<'_> for KeyVisitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a field name")
                    }

                    fn visit_str<E: serde_core::de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok(match v {
                            $($text => $name::$variant,)+
                            _ => $name::Other,
                        })
                    }
                }

                d.deserialize_str(KeyVisitor)
            }
        }
    };
}

pub(super) use json_keys;
