//! Remote artifact stores (object_store URLs).
