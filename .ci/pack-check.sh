#!/usr/bin/env bash
# Packs GrpcJwtAuth, GrpcJwtAuth.Client and the GrpcJwtAuth.Tool dotnet tool, checks what each package holds, then builds and runs a throwaway consumer that references them as
# packages (PackageReference, not ProjectReference), outside the repository's build settings.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
version="0.1.0-ci.$(date +%s)"

dotnet pack src/GrpcJwtAuth/GrpcJwtAuth.csproj -c Release -o "$work/packages" -p:Version="$version" -v quiet -nologo
dotnet pack src/GrpcJwtAuth.Client/GrpcJwtAuth.Client.csproj -c Release -o "$work/packages" -p:Version="$version" -v quiet -nologo
dotnet pack src/GrpcJwtAuth.Tool/GrpcJwtAuth.Tool.csproj -c Release -o "$work/packages" -p:Version="$version" -v quiet -nologo

for package in GrpcJwtAuth GrpcJwtAuth.Client; do
  nupkg="$work/packages/$package.$version.nupkg"
  [ -f "$nupkg" ] || { echo "missing $nupkg" >&2; exit 1; }
  [ -f "$work/packages/$package.$version.snupkg" ] || { echo "missing symbols for $package" >&2; exit 1; }
  contents=$(unzip -l "$nupkg")
  for expected in README.md "lib/net10.0/$package.dll" "lib/net10.0/$package.xml"; do
    grep -q "$expected" <<<"$contents" || { echo "$package package lacks $expected" >&2; exit 1; }
  done
  unzip -p "$nupkg" "$package.nuspec" | grep -q '<license type="expression">MIT</license>' \
    || { echo "$package package lacks the MIT license expression" >&2; exit 1; }
done

# The tool: a DotnetTool package whose command is grpcjwtauth, with the server package's code beside it.
tool="$work/packages/GrpcJwtAuth.Tool.$version.nupkg"
[ -f "$tool" ] || { echo "missing $tool" >&2; exit 1; }
contents=$(unzip -l "$tool")
for expected in README.md tools/net10.0/any/GrpcJwtAuth.Tool.dll tools/net10.0/any/GrpcJwtAuth.dll tools/net10.0/any/DotnetToolSettings.xml; do
  grep -q "$expected" <<<"$contents" || { echo "GrpcJwtAuth.Tool package lacks $expected" >&2; exit 1; }
done
unzip -p "$tool" tools/net10.0/any/DotnetToolSettings.xml | grep -q 'Command Name="grpcjwtauth"' \
  || { echo "GrpcJwtAuth.Tool package does not name the grpcjwtauth command" >&2; exit 1; }
nuspec=$(unzip -p "$tool" GrpcJwtAuth.Tool.nuspec)
grep -q '<license type="expression">MIT</license>' <<<"$nuspec" || { echo "GrpcJwtAuth.Tool package lacks the MIT license expression" >&2; exit 1; }
grep -q '<packageType name="DotnetTool"' <<<"$nuspec" || { echo "GrpcJwtAuth.Tool package is not a DotnetTool package" >&2; exit 1; }

consumer="$work/consumer"
mkdir -p "$consumer"
sed "s/@VERSION@/$version/g" tests/PackageConsumer/PackageConsumer.csproj.template > "$consumer/PackageConsumer.csproj"
cp tests/PackageConsumer/Program.cs "$consumer/"
cat > "$consumer/nuget.config" <<CONFIG
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="local" value="$work/packages" />
  </packageSources>
</configuration>
CONFIG
# Keep the consumer away from this repository's Directory.*.props.
echo '<Project />' > "$consumer/Directory.Build.props"
echo '<Project />' > "$consumer/Directory.Packages.props"

dotnet run --project "$consumer/PackageConsumer.csproj" -c Release -v quiet -nologo
