use std::fmt;

use cls_core::ClsStore;

#[derive(Clone, Default)]
pub struct Roles(Vec<String>);

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[derive(ClsStore, Clone, Default)]
pub struct AppStore {
    #[cls(propagate)]
    roles: Roles,
}

fn main() {}
