"""Invoice titles (发票抬头): one valid title per account."""
