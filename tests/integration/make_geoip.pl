#!/usr/bin/perl
# make_geoip.pl OUT.mmdb: a small MaxMind-format database for the tests,
# written with MaxMind's own writer (Debian: libmaxmind-db-writer-perl), in
# the layout of GeoIP2/GeoLite2 City (country.iso_code,
# subdivisions[0].iso_code, city.names.en). Networks:
#   127.0.1.0/24, 198.51.100.0/25   CN, Zhejiang (ZJ), Hangzhou
#   127.0.2.0/24, 198.51.100.128/25 CN, Guangdong (GD), Shenzhen
#   127.0.3.0/24, 203.0.113.0/24    US, California (CA), Mountain View
#   192.0.2.0/24                    US, no subdivision, no city
# Any other address is in none: its region is unknown. With --v2 the
# Guangdong networks say Guangzhou instead (a new version of the file).
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $v2 = @ARGV && $ARGV[0] eq '--v2' ? shift @ARGV : 0;
my $out = shift @ARGV or die "usage: make_geoip.pl [--v2] OUT.mmdb\n";
my %types = (
	country      => 'map',
	subdivisions => ['array', 'map'],
	city         => 'map',
	names        => 'map',
	iso_code     => 'utf8_string',
	en           => 'utf8_string',
);
my $tree = MaxMind::DB::Writer::Tree->new(
	ip_version               => 6,
	record_size              => 24,
	database_type            => 'packcode-Test-City',
	languages                => ['en'],
	description              => {en => 'packcode test regions'},
	map_key_type_callback    => sub { $types{$_[0]} },
	remove_reserved_networks => 0,
	alias_ipv6_to_ipv4       => 1,
);
my $zj = {country => {iso_code => 'CN'}, subdivisions => [{iso_code => 'ZJ'}],
	city => {names => {en => 'Hangzhou'}}};
my $gd = {country => {iso_code => 'CN'}, subdivisions => [{iso_code => 'GD'}],
	city => {names => {en => $v2 ? 'Guangzhou' : 'Shenzhen'}}};
my $ca = {country => {iso_code => 'US'}, subdivisions => [{iso_code => 'CA'}],
	city => {names => {en => 'Mountain View'}}};
my $us = {country => {iso_code => 'US'}};
$tree->insert_network("::$_", $zj) for ('127.0.1.0/120', '198.51.100.0/121');
$tree->insert_network("::$_", $gd) for ('127.0.2.0/120', '198.51.100.128/121');
$tree->insert_network("::$_", $ca) for ('127.0.3.0/120', '203.0.113.0/120');
$tree->insert_network('::192.0.2.0/120', $us);
open my $fh, '>:raw', "$out.tmp" or die "make_geoip.pl: $out.tmp: $!\n";
$tree->write_tree($fh);
close $fh or die "make_geoip.pl: $out.tmp: $!\n";
rename "$out.tmp", $out or die "make_geoip.pl: $out: $!\n";
