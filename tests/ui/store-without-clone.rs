use cls_core::ClsStore;

#[derive(ClsStore, Default)]
struct AppStore {
    request_id: String,
}

fn main() {}
