@echo off
rem PitBox driver agent: streams iRacing's telemetry to your team.
rem First run: asks for your team's PitBox address and your login (pitbox driver init), then
rem starts the agent with that config (%LOCALAPPDATA%\PitBox\driver\pitbox.toml).
setlocal
cd /d "%~dp0"
set "PITBOX_CFG=%LOCALAPPDATA%\PitBox\driver\pitbox.toml"
if not exist "%PITBOX_CFG%" (
  echo No PitBox config yet: let's set it up.
  "%~dp0pitbox.exe" driver init --out "%PITBOX_CFG%"
  if errorlevel 1 (
    echo.
    echo Set-up did not finish. Run this file again to retry.
    pause
    exit /b 1
  )
)
echo Starting the PitBox driver agent. Close this window or press Ctrl-C to stop.
"%~dp0pitbox.exe" driver --config "%PITBOX_CFG%" --source iracing
if errorlevel 1 pause
endlocal
