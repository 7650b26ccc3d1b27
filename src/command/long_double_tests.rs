use super::*;

/// `current + increment` the way INCRBYFLOAT stores it, or the error.
fn incr(current: &str, increment: &str) -> Result<String, &'static str> {
    let current = parse(current.as_bytes()).ok_or("not a float")?;
    let increment = parse(increment.as_bytes()).ok_or("not a float")?;
    add(current, increment).map(format).ok_or("NaN or Infinity")
}

/// 437 sums (fixed edge cases, then random decimals of every size) as
/// redis-server 7.0.15 on x86-64 answered them: `SET k current`, then
/// `INCRBYFLOAT k increment`.
#[test]
fn sums_match_redis_server() {
    let cases = include_str!("long_double_cases.txt");
    let mut checked = 0;
    for line in cases.lines().filter(|l| !l.starts_with('#')) {
        let mut words = line.split(' ');
        let (Some(current), Some(increment), Some(expected)) =
            (words.next(), words.next(), words.next())
        else {
            panic!("bad case line {line}");
        };
        assert_eq!(
            incr(current, increment).as_deref(),
            Ok(expected),
            "{current} + {increment}"
        );
        checked += 1;
    }
    assert_eq!(checked, 437);
}

/// Also answered by redis-server 7.0.15.
#[test]
fn refusals_match_redis_server() {
    assert_eq!(incr("1e5000", "1"), Err("not a float"));
    assert_eq!(incr("0", "1e5000"), Err("not a float"));
    assert_eq!(incr("0", "1e-5000"), Err("not a float"));
    assert_eq!(incr("0", "nan"), Err("not a float"));
    assert_eq!(incr("0", "1e"), Err("not a float"));
    assert_eq!(incr("0", " 1"), Err("not a float"));
    assert_eq!(incr("0", "1 "), Err("not a float"));
    assert_eq!(incr("0", ""), Err("not a float"));
    assert_eq!(incr("0", "."), Err("not a float"));
    assert_eq!(incr("0", "1.2.3"), Err("not a float"));
    assert_eq!(incr("1e4932", "1e4932"), Err("NaN or Infinity"));
    assert_eq!(incr("0", "inf"), Err("NaN or Infinity"));
    assert_eq!(incr("-Infinity", "1"), Err("NaN or Infinity"));
    assert_eq!(incr("0", "0x10"), Ok("16".into()));
    assert_eq!(incr("0", "0x1.8p1"), Ok("3".into()));
    assert_eq!(incr("0", "1.5e+3"), Ok("1500".into()));
    assert_eq!(incr("0", "-.5"), Ok("-0.5".into()));
    assert_eq!(incr("0", "1e-4940"), Ok("0".into()));
}

#[test]
fn rounding_is_to_nearest_with_ties_to_even() {
    // 2^64 + 1 lies halfway between 2^64 and 2^64 + 2: even wins.
    let tie = parse(b"18446744073709551617").expect("finite");
    assert_eq!(
        format(add(tie, ZERO).expect("finite")),
        "18446744073709551616"
    );
    // Just above the tie rounds up.
    let above = parse(b"18446744073709551617.5").expect("finite");
    assert_eq!(
        format(add(above, ZERO).expect("finite")),
        "18446744073709551618"
    );
    // x + (-x) is +0, printed 0.
    let x = parse(b"0.1").expect("finite");
    let minus_x = parse(b"-0.1").expect("finite");
    assert_eq!(format(add(x, minus_x).expect("finite")), "0");
}

#[test]
fn big_integer_division_gives_quotient_and_exactness() {
    let ten = Big::from_u128(10);
    assert_eq!(Big::from_u128(1000).div_small_quotient(&ten), (100, true));
    assert_eq!(Big::from_u128(1001).div_small_quotient(&ten), (100, false));
    let mut big = Big::pow10(40);
    big.add_small(7);
    assert_eq!(
        big.div_small_quotient(&Big::pow10(20)),
        (10u128.pow(20), false)
    );
    assert_eq!(Big::pow10(30).to_decimal(), format!("1{}", "0".repeat(30)));
}
