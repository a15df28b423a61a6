use cls_core::{Cls, ClsStore};
use std::rc::Rc;

#[derive(ClsStore, Clone, Default)]
struct Wrap<T> {
    inner: T,
}

const CLS: Cls<Wrap<Rc<u8>>> = Cls::new();

fn main() {
    let _ = CLS;
}
